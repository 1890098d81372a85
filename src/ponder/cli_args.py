"""Argument types of the `ponder` command: argparse `type=` functions that turn a bad value into one clear line
(argparse then exits with status 2), and the flags several subcommands share."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def count(text: str) -> int:
    value = positive_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def number_in(low: float, high: float):
    """An argparse type: a number between low and high."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, got {value}")
        return value
    return parse


unit_float = number_in(0, 1)
temperature = number_in(0, 5)


def port(text: str) -> int:
    value = positive_int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"ports are 1..65535, got {value}")
    return value


def names(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def weights(text: str) -> tuple[float, ...]:
    """Comma-separated non-negative numbers, not all zero."""
    parse = number_in(0, float("inf"))
    given = tuple(parse(t) for t in names(text))
    if not given or sum(given) <= 0:
        raise argparse.ArgumentTypeError(f"expected comma-separated weights, not all zero, got {text!r}")
    return given


def levels(text: str) -> tuple[int, ...]:
    return tuple(level(t) for t in names(text))


def budgets(text: str) -> tuple[int, ...]:
    return tuple(positive_int(t) for t in names(text))


def counts(text: str) -> tuple[int, ...]:
    return tuple(count(t) for t in names(text))


def level(text: str) -> int:
    value = positive_int(text)
    if not 1 <= value <= 5:
        raise argparse.ArgumentTypeError(f"levels are 1..5, got {value}")
    return value


def bf16_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                        help="bf16 autocast on or off (default: on only where the hardware computes bf16 natively; "
                             "emulated bf16 on an AVX2 CPU measured 24x slower than float32)")


def some_names(text: str) -> tuple[str, ...]:
    given = names(text)
    if not given:
        raise argparse.ArgumentTypeError("give at least one name")
    return given


def curriculum(text: str) -> tuple[tuple[int, tuple[int, ...]], ...]:
    stages = []
    for part in text.split(";"):
        start, _, levels = part.rpartition(":")
        try:
            stage = (int(start) if start.strip() else 0, tuple(int(x) for x in levels.split(",")))
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad stage {part!r}: expected STEP:LEVELS such as 40:4,5") from None
        stages.append(stage)
    if stages[0][0] != 0 or any(b[0] <= a[0] for a, b in zip(stages, stages[1:], strict=False)):
        raise argparse.ArgumentTypeError("stages start at step 0 and their steps increase")
    return tuple(stages)


def curriculum_text(stages: tuple[tuple[int, tuple[int, ...]], ...]) -> str:
    return ";".join(f"{start}:{','.join(map(str, levels))}" for start, levels in stages)
