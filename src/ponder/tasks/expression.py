"""A strict, safe evaluator for countdown answers: integers, + - * /, parentheses; exact rational arithmetic.

Hand-written on purpose: `eval` and `ast` accept far more than the rule allows (`**`, names, calls, unary signs),
and a recursive-descent parser over a length-capped string is small, cannot hang, and reports why it refused.
"""

from __future__ import annotations

from fractions import Fraction

MAX_CHARS = 120
_ALLOWED = set("0123456789+-*/() ")


class ExpressionError(ValueError):
    pass


def parse_expression(text: str) -> tuple[Fraction, list[int]]:
    """Evaluate `text`; return its exact value and the integer literals it uses, or raise ExpressionError."""
    if len(text) > MAX_CHARS:
        raise ExpressionError("expression too long")
    if "=" in text:
        raise ExpressionError("an answer is an expression, without '='")
    bad = sorted(set(text) - _ALLOWED)
    if bad:
        raise ExpressionError(f"characters not allowed: {''.join(bad)!r}")
    tokens = _tokenize(text)
    if not tokens:
        raise ExpressionError("empty expression")
    parser = _Parser(tokens)
    value = parser.expression()
    if parser.pos != len(tokens):
        raise ExpressionError(f"unexpected {tokens[parser.pos]!r}")
    return value, parser.numbers


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == " ":
            i += 1
        elif ch.isdigit():
            j = i
            while j < len(text) and text[j].isdigit():
                j += 1
            literal = text[i:j]
            if len(literal) > 1 and literal[0] == "0":
                raise ExpressionError(f"number with a leading zero: {literal}")
            tokens.append(literal)
            i = j
        else:
            tokens.append(ch)
            i += 1
    return tokens


class _Parser:
    """expression := term (('+'|'-') term)*; term := factor (('*'|'/') factor)*; factor := INT | '(' expression ')'"""

    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.pos = 0
        self.numbers: list[int] = []

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def expression(self) -> Fraction:
        value = self.term()
        while self._peek() in ("+", "-"):
            op = self.tokens[self.pos]
            self.pos += 1
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self) -> Fraction:
        value = self.factor()
        while self._peek() in ("*", "/"):
            op = self.tokens[self.pos]
            self.pos += 1
            rhs = self.factor()
            if op == "*":
                value *= rhs
            elif rhs == 0:
                raise ExpressionError("division by zero")
            else:
                value /= rhs
        return value

    def factor(self) -> Fraction:
        tok = self._peek()
        if tok is None:
            raise ExpressionError("expression ends too early")
        self.pos += 1
        if tok == "(":
            value = self.expression()
            if self._peek() != ")":
                raise ExpressionError("unbalanced parentheses")
            self.pos += 1
            return value
        if tok.isdigit():
            self.numbers.append(int(tok))
            return Fraction(int(tok))
        raise ExpressionError(f"unexpected {tok!r}")
