import random
import re
import time

import pytest

from ponder.model.tokenizer import build_tokenizer
from ponder.tasks import LEVELS, TASKS, Problem, get_task
from ponder.tasks.base import is_test_problem
from ponder.tasks.countdown import STEP_KINDS, CountdownTask


@pytest.mark.parametrize("name", sorted(TASKS))
def test_generators_are_deterministic_and_levelled(name):
    task = get_task(name)
    for level in LEVELS:
        a = task.sample_many(7, level, 5)
        assert a == task.sample_many(7, level, 5)
        assert a != task.sample_many(8, level, 5)
        assert all(p.level == level and p.task == name for p in a)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_splits_are_disjoint(name):
    task = get_task(name)
    for level in (1, 3):
        train = task.sample_many(0, level, 40, split="train")
        test = task.sample_many(0, level, 40, split="test")
        assert not any(is_test_problem(p) for p in train)
        assert all(is_test_problem(p) for p in test)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_trace_answers_verify_and_steps_check(name):
    task = get_task(name)
    for level in LEVELS:
        for i, p in enumerate(task.sample_many(1, level, 6)):
            assert task.verify(p, p.answer).correct
            trace = task.trace(p, random.Random(i), slip_rate=0.0)
            steps = task.check_steps(p, trace)
            assert steps and all(steps), trace


def test_problem_json_round_trip():
    p = get_task("countdown").sample(random.Random(0), 5)
    assert Problem.from_json(p.to_json()) == p


def test_arithmetic_levels():
    task = get_task("arithmetic")
    level5 = task.sample_many(0, 5, 30)
    assert all(p.meta["op"] == "*" and p.meta["a"] >= 100 and p.meta["b"] >= 100 for p in level5)
    level1 = task.sample_many(0, 1, 30)
    assert all(p.meta["op"] == "+" and p.meta["a"] < 100 and p.meta["b"] < 100 for p in level1)
    assert all(p.prompt == f"What is {p.meta['a']} {p.meta['op']} {p.meta['b']}?" for p in level1 + level5)
    level3, level4 = task.sample_many(0, 3, 30), task.sample_many(0, 4, 30)
    assert all(p.meta["op"] == "*" and 100 <= p.meta["a"] <= 999 and 2 <= p.meta["b"] <= 9 for p in level3)
    assert all(p.meta["op"] == "*" and 10 <= p.meta["a"] <= 99 and 10 <= p.meta["b"] <= 99 for p in level4)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_levels_need_more_thinking_as_they_rise(name):
    """The eval issue's adaptive-compute bar asks a model's thinking to rise with level; a model that follows its
    solver traces can only do that if the traces do (benchmarks/results/level_ladder.md). Mean trace tokens of 200
    problems a level rise at every step; arithmetic's level 3 once needed less scratchpad than level 2 (62.6 against
    63.5 tokens) and now needs clearly more. Countdown's levels 2 and 3 both search three numbers and stay within a
    few percent of each other, so only their order is asserted."""
    task = CountdownTask(flat_four=True) if name == "countdown" else get_task(name)
    tokenizer = build_tokenizer()
    means = []
    for level in LEVELS:
        problems = task.sample_many(3, level, 200)
        means.append(sum(len(tokenizer.encode(task.trace(p), add_special_tokens=False)) for p in problems) / 200)
    assert all(hi > lo for lo, hi in zip(means, means[1:], strict=False)), means
    if name == "arithmetic":
        assert means[2] > 1.1 * means[1], means


def test_countdown_levels_and_rules():
    task = get_task("countdown")
    level5 = task.sample_many(0, 5, 60)
    assert all(len(p.meta["numbers"]) == 4 and max(p.meta["numbers"]) <= 13 for p in level5)
    assert all(p.meta["target"] <= 100 for p in level5)
    assert {p.meta["rule"] for p in level5} == {"some", "all"}
    assert any(p.meta["target"] == 24 and p.meta["rule"] == "all" for p in level5)
    assert all(len(p.meta["numbers"]) == 2 for p in task.sample_many(0, 1, 10))
    every = next(p for p in level5 if p.meta["rule"] == "all")
    assert every.prompt.endswith("Use every number exactly once, with + - * / and parentheses.")


ARITH = Problem("arithmetic", 5, "What is 482 * 317?", "152794", {"a": 482, "b": 317, "op": "*"})


@pytest.mark.parametrize("answer,correct", [
    ("152794", True), (" 152794\n", True), ("+152794", True),
    ("152795", False), ("152,794", False), ("152794.0", False), ("The answer is 152794", False),
    ("152794 152794", False), ("", False), ("9" * 10_000, False), ("482*317", False), ("0x254da", False),
])
def test_arithmetic_verifier(answer, correct):
    assert get_task("arithmetic").verify(ARITH, answer).correct is correct


SOME = Problem("countdown", 4, "", "(13-5)*3", {"numbers": [3, 5, 8, 13], "target": 24, "rule": "some"})
ALL = Problem("countdown", 5, "", "(13-5)*3", {"numbers": [3, 5, 8, 13], "target": 24, "rule": "all"})


@pytest.mark.parametrize("problem,answer,correct", [
    (SOME, "(13-5)*3", True), (SOME, " ( 13 - 5 ) * 3 ", True), (SOME, "3*8", True),
    (ALL, "(13-5)*3", False), (ALL, "(13-5)*3*8/8", False), (ALL, "3*8*(13-5)/(13-5)", False),
    (ALL, "3*(13-8)+5+5-3", False), (ALL, "(13-8)*3+8-5+5-8", False),
    (ALL, "3*8+13-13", False), (SOME, "(13-5)*3=24", False), (SOME, "24", False), (SOME, "8*3", True),
    (SOME, "6*4", False), (SOME, "3*8/(5-5)", False), (SOME, "9**9**9", False), (SOME, "3*8 and more", False),
    (SOME, "__import__('os')", False), (SOME, "(" * 500 + "3" + ")" * 500, False), (SOME, "", False),
    (SOME, "((3*8)", False), (SOME, "3 8", False), (SOME, "-3*-8", False), (SOME, "03*8", False),
    (SOME, "3*8.0", False), (SOME, "1" * 100_000, False), (SOME, "3*(13-5)", True),
])
def test_countdown_verifier(problem, answer, correct):
    start = time.perf_counter()
    assert get_task("countdown").verify(problem, answer).correct is correct
    assert time.perf_counter() - start < 0.1


def test_countdown_fractions_are_exact():
    p = Problem("countdown", 5, "", "", {"numbers": [1, 5, 5, 5], "target": 24, "rule": "all"})
    assert get_task("countdown").verify(p, "5*(5-1/5)").correct
    assert not get_task("countdown").verify(p, "5*(5-1/5)+0").correct


def test_labeled_steps_name_the_kind_of_a_wrong_step():
    cd = CountdownTask(flat=True)
    p = next(q for q in cd.sample_many(5, 4, 20) if " left " in cd.trace(q) and " = " in cd.trace(q))
    trace = cd.trace(p)
    steps = cd.labeled_steps(p, trace)
    assert [ok for _, ok in steps] == cd.check_steps(p, trace) and all(ok for _, ok in steps)
    assert {kind for kind, _ in steps} <= set(STEP_KINDS) and {"move", "pair results", "check"} <= {k for k, _ in steps}
    line = next(x for x in trace.split("\n") if " left " in x and " = " in x)
    head, results = line.split(" = ", 1)
    first, rest = results.split(" ", 1)
    broken = trace.replace(line, f"{head} = {int(first) + 1} {rest}", 1)
    wrong = [kind for kind, ok in cd.labeled_steps(p, broken) if not ok]
    assert "pair results" in wrong and "move" not in wrong


def test_check_steps_flags_an_injected_wrong_step():
    cd = get_task("countdown")
    p = cd.sample_many(3, 3, 1)[0]
    trace = cd.trace(p)
    first = trace.index("=", trace.index("try"))
    end = first + 1
    while trace[end].isdigit():
        end += 1
    broken = trace[:first + 1] + str(int(trace[first + 1:end]) + 1) + trace[end:]
    assert all(cd.check_steps(p, trace)) and not all(cd.check_steps(p, broken))
    ar = get_task("arithmetic")
    trace = ar.trace(ARITH)
    broken = trace.replace("2*7+0=14", "2*7+0=15")
    assert all(ar.check_steps(ARITH, trace))
    assert ar.check_steps(ARITH, broken).count(False) == 1


def test_slips_are_masked_and_corrected():
    for name in TASKS:
        task = get_task(name)
        p = task.sample_many(0, 5, 1)[0]
        spans = task.trace_spans(p, random.Random(0), slip_rate=0.5)
        masked = [s for s in spans if not s.learn]
        assert masked, "a slip rate of 0.5 must produce slips"
        text = "".join(s.text for s in spans)
        assert "Wait" in text
        assert text.count("check") >= 1


def test_thinking_patterns_in_countdown_traces():
    task = get_task("countdown")
    text = "\n".join(task.trace(p, random.Random(i), 0.05) for i, p in enumerate(task.sample_many(0, 5, 40)))
    for pattern in ("try ", "back to ", "check ", "Wait, "):
        assert pattern in text
    firsts = [task.trace(p).split("\n")[1] for p in task.sample_many(0, 5, 40)]
    assert sum(line.endswith("yes") for line in firsts) < 20, "the first line should rarely be the hit"


def test_countdown_answer_follows_from_the_trace():
    cd = get_task("countdown")
    differ = 0
    for i, p in enumerate(cd.sample_many(2, 3, 30)):
        trace = cd.trace(p, random.Random(i), 0.2)
        answer = cd.answer_from_trace(p, trace)
        assert cd.verify(p, answer).correct, trace
        assert trace.rstrip().endswith(" ok") and f"check {answer}:" in trace.rsplit("\n", 2)[-2]
        differ += answer != p.answer
    assert differ, "searches find other solutions than the reference answer; an example should end with its own"


def test_countdown_hits_are_not_ranked_first():
    # Ranked by closeness, a hit was the first line of 99% of 2-number traces: `yes` needed no comparison.
    cd = get_task("countdown")
    firsts = [cd.trace(p, random.Random(i)).split("\n")[1] for i, p in enumerate(cd.sample_many(0, 1, 100))]
    assert 15 <= sum(line.endswith(" yes") for line in firsts) <= 70


def test_subtraction_borrows_after_the_column_is_computed():
    ar = get_task("arithmetic")
    p = Problem("arithmetic", 2, "What is 965 - 890?", "75", {"a": 965, "b": 890, "op": "-"})
    trace = ar.trace(p)
    assert "5-0-0=5 6-9-0=-3 +10=7 9-8-1=0" in trace
    assert all(ar.check_steps(p, trace))
    assert ar.check_steps(p, trace.replace("+10=7", "+10=8")).count(False) == 1


def test_countdown_guide_shapes_traces_not_problems():
    from ponder.tasks.countdown import CountdownTask

    guided, plain = CountdownTask(guide=1.0), CountdownTask(guide=0.0)
    problems = plain.sample_many(0, 5, 40)
    assert problems == guided.sample_many(0, 5, 40)
    backs = {}
    for name, task in (("guided", guided), ("plain", plain)):
        traces = [task.trace(p, random.Random(i), 0.0) for i, p in enumerate(problems)]
        assert all(task.verify(p, task.answer_from_trace(p, t)).correct for p, t in zip(problems, traces, strict=True))
        backs[name] = sum(t.count("back to") for t in traces)
    # the oracle's order finds solvable moves first; plain closeness order backs up from more dead ends
    assert backs["plain"] > 2 * backs["guided"]
    with pytest.raises(ValueError, match="guide"):
        CountdownTask(guide=1.5)


def test_countdown_repeat_tokens_lead_only_to_searched_states():
    from ponder.tasks.countdown_search import _Item, _repeat_tokens

    items = tuple(_Item(v, str(v), 3) for v in (10, 1, 3))
    after_10_plus_1 = {(3, 11)}
    # writing `10+3` after 10+1 was searched: only `1` in the second number's place would repeat it
    assert _repeat_tokens(items, (0, 2, "+", 13), after_10_plus_1) == ((), (), ("1",))
    assert _repeat_tokens(items, (0, 2, "+", 13), set()) == ((), (), ())
    # 10+1 10-1 10*1 10+3 10-3 searched: after `10`, + and - lead only to searched states; after `10*`, 1 does
    searched = {(3, 11), (3, 9), (3, 10), (1, 13), (1, 7)}
    assert _repeat_tokens(items, (0, 2, "*", 30), searched) == ((), ("+", "-"), ("1",))


def _child(state: list[int], a: int, op: str, b: int) -> tuple[int, ...]:
    rest = list(state)
    rest.remove(a)
    rest.remove(b)
    value = {"+": a + b, "-": a - b, "*": a * b, "/": a // b if b and a % b == 0 else -1}[op]
    return tuple(sorted(rest + [value]))


def test_countdown_avoided_tokens_would_repeat_a_move_written_earlier():
    """Replays the trace text (numbers left, back lines): an avoided second number gives numbers left that a move
    written earlier from the same numbers gave, so the model is only ever taught not to repeat itself."""
    task = get_task("countdown")
    checked = 0
    for level in (2, 3, 4, 5):
        for p in task.sample_many(3, level, 60, split="train"):
            spans = task.trace_spans(p, random.Random(p.prompt), 0.04)
            state = sorted(p.meta["numbers"])
            searched: dict[tuple[int, ...], set[tuple[int, ...]]] = {}
            text, done = "", 0
            for k, s in enumerate(spans):
                if s.avoid and s.text.endswith("="):  # the second number's place: a, op written just before
                    a, op = int(spans[k - 2].text), spans[k - 1].text
                    for x in s.avoid:
                        assert _child(state, a, op, int(x)) in searched.get(tuple(state), set()), text[-200:]
                        checked += 1
                text += s.text
                while "\n" in text[done:]:  # replay each line once it is complete
                    end = text.index("\n", done)
                    line, done = text[done:end], end + 1
                    state = _replay_line(line, state, searched)
    assert checked > 50


def _replay_line(line: str, state: list[int], searched: dict) -> list[int]:
    import re

    if line.startswith("back to "):
        return sorted(int(v) for v in line[len("back to "):].split())
    move = re.match(r"try (\d+)([-+*/])(\d+)=", line)
    if move:
        a, op, b = int(move[1]), move[2], int(move[3])
        searched.setdefault(tuple(state), set()).add(_child(state, a, op, b))
    left = re.search(r" left ([\d ]+)$", line)  # on the try line, or after a caught false hit
    return sorted(int(v) for v in left[1].split()) if left else state


def test_caught_repeats_repeat_a_move_written_earlier_and_change_nothing_else():
    """Replays the text with its caught repeats: each masked move was written before from the same numbers (so the
    catch is always right), the catch is learned, and without the catches the trace is the solver's, unchanged."""
    from ponder.tasks.countdown_replay import CATCH

    task = get_task("countdown")
    caught = places = 0
    for level in (2, 3, 4, 5):
        for p in task.sample_many(4, level, 40, split="train"):
            spans = task.trace_spans(p, random.Random(p.prompt), 0.04)
            assert task.catch_repeats(p, spans, random.Random(0), 0.0) is spans
            with_catches = task.catch_repeats(p, spans, random.Random(0), 1.0)
            clean = "".join(s.text for s in spans)
            state, searched, text, done = sorted(p.meta["numbers"]), {}, "", 0
            for k, s in enumerate(with_catches):
                if s.text == CATCH:
                    a, op, b = re.fullmatch(r"(\d+)([-+*/])(\d+)", with_catches[k - 1].text).groups()
                    assert not with_catches[k - 1].learn and s.learn and with_catches[k - 2].text == "try "
                    assert _child(state, int(a), op, int(b)) in searched[tuple(state)], text[-200:]
                    caught += 1
                places += s.text == "try " and with_catches[k + 1].learn and bool(searched.get(tuple(state)))
                text += s.text
                while "\n" in text[done:]:
                    end = text.index("\n", done)
                    line, done = text[done:end], end + 1
                    if re.fullmatch(r"try \d+[-+*/]\d+" + re.escape(CATCH.strip("\n")), line):
                        continue  # a caught repeat is no move
                    if line.startswith("back to ") or not line.startswith("try "):
                        state = _replay_line(line, state, searched)
                        continue
                    fresh = _replay_line(line, state, searched)
                    if fresh != state:
                        searched.pop(tuple(fresh), None)  # entered afresh: a new visit of these numbers
                    state = fresh
            visible = re.sub(r"try \d+[-+*/]\d+" + re.escape(CATCH), "", text)
            assert visible == clean
            assert task.check_steps(p, text) == task.check_steps(p, clean)
            assert task.answer_from_trace(p, text) == task.answer_from_trace(p, clean)
    # rate 1 catches at every place a tried move could be repeated, up to two in a row
    assert caught >= places > 100


def test_caught_repeats_draw_their_share_of_places():
    task = get_task("countdown")
    problems = task.sample_many(5, 4, 60, split="train")
    counts = {}
    for rate in (0.1, 0.5):
        rng = random.Random(0)
        counts[rate] = sum("".join(s.text for s in task.catch_repeats(p, task.trace_spans(p, rng, 0.0), rng, rate))
                           .count("Wait, no\n") for p in problems)
    assert 0 < counts[0.1] < counts[0.5] / 3
    arithmetic = get_task("arithmetic")
    p = arithmetic.sample_many(0, 3, 1)[0]
    spans = arithmetic.trace_spans(p, random.Random(0), 0.0)
    assert arithmetic.catch_repeats(p, spans, random.Random(0), 1.0) is spans


@pytest.mark.parametrize("name", sorted(TASKS))
def test_a_canonical_prompt_reads_back_as_its_problem(name):
    from ponder.tasks import read_question

    task = get_task(name)
    for level in LEVELS:
        for p in task.sample_many(3, level, 30):
            asked = read_question(p.prompt)
            assert asked is not None and (asked.task, asked.meta, asked.level) == (name, p.meta, 0)
            assert task.verify(asked, p.answer).correct


@pytest.mark.parametrize("text", [
    "What is 37*46?", "what is 37 * 46?", "What is 37 * 46? Please.", "What is 37 / 46?",
    "What is " + "9" * 19 + " * 2?",
    "Using the numbers 3, make 24. Use every number exactly once, with + - * / and parentheses.",
    "Using the numbers 3, 5, 8, 13, make 24. Use them all.",
    "Using the numbers 0, 5, make 5. Use each number at most once, with + - * / and parentheses.",
    "Using the numbers " + ", ".join(["1"] * 7) + ", make 7. Use each number at most once, with + - * / and "
    "parentheses.",
    "Using the numbers 99999, 5, make 5. Use each number at most once, with + - * / and parentheses.",
    "", "Hello",
])
def test_other_questions_are_not_read_as_problems(text):
    from ponder.tasks import read_question

    assert read_question(text) is None


def test_systematic_traces_try_moves_in_a_fixed_order_and_all_of_them_at_two_numbers():
    from ponder.tasks.countdown import CountdownTask

    task, guided = CountdownTask(systematic=True), CountdownTask()
    problems = task.sample_many(3, 2, 30)
    for k, p in enumerate(problems):
        thinking = task.trace(p, random.Random(k), 0.0)
        assert task.verify(p, task.answer_from_trace(p, thinking)).correct and all(task.check_steps(p, thinking))
        assert task.first_repeat(p, thinking) is None and task.repeated_lines(p, thinking) == set()
        assert task.trace(p, random.Random(k + 99), 0.0) == thinking  # no noise in the order at three numbers
        first = re.match(r"goal \d+ some (\d+) (\d+) (\d+)\ntry (\d+)(.)(\d+)=", thinking)
        a, b, c, x, op, y = first.groups()
        assert [int(a), int(b), int(c)] == sorted(p.meta["numbers"], reverse=True)  # states largest first
        assert (x, op, y) == (a, "+", b)  # the first pair as the numbers are written, + first
        # every dead two-number state is searched to its last move: + * - / where whole, each new result once
        for block in re.findall(r"left (\d+) (\d+)\n((?:try [^\n]*\n)+)back to", thinking):
            u, v = sorted(map(int, block[:2]), reverse=True)
            moves = {"+": u + v, "*": u * v, "-": u - v if u != v else 0, "/": u // v if v > 1 and u % v == 0 else 0}
            expected, seen = "", set()
            for o, value in moves.items():
                if value and value not in seen:
                    expected, seen = expected + o, seen | {value}
            assert "".join(re.findall(r"try \d+(.)\d+=", block[2])) == expected, block
    with_order = sum(t.count("back to") for t in (task.trace(p, random.Random(0), 0.0) for p in problems))
    assert with_order > sum(t.count("back to") for t in (guided.trace(p, random.Random(0), 0.0) for p in problems))
    assert task.sample_many(3, 2, 30) == guided.sample_many(3, 2, 30)  # traces change, problems do not


def test_pruned_traces_search_four_numbers_in_the_fixed_order_and_give_up_a_dead_state_at_once():
    """With prune, the line after `left x y z` is the live/dead call: a dead state is given up at once (`back to`,
    but for a few searched to their end), a live one is searched; four numbers follow the fixed order as three do."""
    from ponder.tasks.countdown import CountdownTask
    from ponder.tasks.countdown_search import _Item, _moves, can_reach

    task, plain = CountdownTask(prune=True), CountdownTask(systematic=True)
    calls = {"dead, given up": 0, "dead, searched": 0, "live, searched": 0, "live, given up": 0}
    for level in (4, 5):
        for k, p in enumerate(task.sample_many(5, level, 40)):
            thinking = task.trace(p, random.Random(k), 0.0)
            assert task.verify(p, task.answer_from_trace(p, thinking)).correct and all(task.check_steps(p, thinking))
            assert task.first_repeat(p, thinking) is None and task.repeated_lines(p, thinking) == set()
            lines = thinking.split("\n")
            root = tuple(_Item(v, str(v), 3) for v in sorted(p.meta["numbers"], reverse=True))
            order = list(dict.fromkeys((str(root[i].value), op, str(root[j].value)) for i, j, op, _ in _moves(root)))
            tried = []
            for n, line in enumerate(lines):
                m = re.match(r"try (\d+)(.)(\d+)=.* left (\d+) (\d+) (\d+)$", line)
                if not m:
                    continue
                tried.append(m.groups()[:3])
                live = can_reach([int(v) for v in m.groups()[3:]], p.meta["target"], p.meta["rule"] == "all")
                gave_up = lines[n + 1].startswith("back to")
                calls[f"{'live' if live else 'dead'}, {'given up' if gave_up else 'searched'}"] += 1
            # root moves in `_moves` order, equal states skipped
            assert tried == [o for o in order if o in tried] and tried[0] == order[0]
    assert calls["live, given up"] == 0 and calls["live, searched"] > 50
    assert calls["dead, given up"] > 10 * calls["dead, searched"] > 0
    easy = task.sample_many(3, 2, 20)
    assert [task.trace(p, random.Random(0), 0.0) for p in easy] == [plain.trace(p, random.Random(0), 0.0) for p in easy]


def _root_children(problem: Problem, thinking: str) -> list[list[int]]:
    """The numbers left by each move a flat trace tried from four starting numbers."""
    if len(problem.meta["numbers"]) < 4:
        return []
    return [[int(v) for v in m.split()] for m in re.findall(r"^try [^\n]* left (\d+ \d+ \d+)$", thinking, re.M)]


def test_flat_traces_search_every_state_to_its_end_and_finish_two_numbers_on_the_move_line():
    """Flat traces: no oracle (a dead state is searched to its end), the fixed order at four numbers too, and a move
    that leaves two numbers writes all their results and one verdict on its own line, so no `back to` returns to
    two numbers; check_steps verifies those results."""
    from ponder.tasks.countdown import CountdownTask
    from ponder.tasks.countdown_search import _apply, _Item, _moves, can_reach

    task = CountdownTask(flat=True)
    for level in (2, 4, 5):
        for k, p in enumerate(task.sample_many(5, level, 30)):
            thinking = task.trace(p, random.Random(k), 0.0)
            assert task.verify(p, task.answer_from_trace(p, thinking)).correct and all(task.check_steps(p, thinking))
            assert task.first_repeat(p, thinking) is None and task.repeated_lines(p, thinking) == set()
            assert all(len(line.split()) > 4 for line in thinking.split("\n") if line.startswith("back to"))
            blocks = re.findall(r"left (\d+) (\d+) (\d+)\n((?:try [^\n]*\n)+)back to", thinking)
            for *numbers, block in blocks:  # a dead three-number state: each of its distinct moves, in order
                state = tuple(_Item(int(v), v, 3) for v in numbers)
                distinct = {tuple(sorted(it.value for it in _apply(state, m))) for m in _moves(state)}
                assert len(block.strip().split("\n")) == len(distinct), block
            dead_roots = sum(not can_reach(c, p.meta["target"], p.meta["rule"] == "all")
                             for c in _root_children(p, thinking))
            assert len(blocks) == dead_roots
    four, systematic = CountdownTask(flat_four=True), CountdownTask(systematic=True)
    for level, like in ((2, systematic), (3, systematic), (4, task), (5, task)):  # flat only from four numbers
        problems = task.sample_many(3, level, 10)
        assert [four.trace(p, random.Random(0), 0.05) for p in problems] == \
            [like.trace(p, random.Random(0), 0.05) for p in problems]
    wrong = "goal 47 all 13 12 12 6\ntry 13+12=25 left 25 12 6\ntry 25+12=37 left 37 6 = 43 222 30 vs 47 no\n"
    problem = Problem("countdown", 4, "", "", {"numbers": [12, 6, 13, 12], "target": 47, "rule": "all"})
    assert task.check_steps(problem, wrong) == [True, True, False, True]  # 37-6 is 31


def test_solver_traces_never_repeat_a_move_on_one_visit_and_the_replay_follows_a_caught_false_hit():
    task = get_task("countdown")
    for level in (2, 3, 4, 5):
        for k, p in enumerate(task.sample_many(7, level, 40)):
            thinking = "".join(s.text for s in task.trace_spans(p, random.Random(k), 0.05))
            # a state met again by another path is a new visit, searched afresh as the solver does
            assert task.first_repeat(p, thinking) is None and task.repeated_lines(p, thinking) == set()
    problem = Problem("countdown", 2, "", "10*(3-1)", {"numbers": [10, 1, 3], "target": 20, "rule": "some"})
    thinking = ("goal 20 some 10 1 3\ntry 10-1=9 vs 20 yes\ncheck 10-1: 10-1=9 vs 20 bad\nWait, 9 vs 20 no left 3 9\n"
                "try 9+3=12 vs 20 no\ntry 9*3=27 vs 20 no\ntry 9+3=12 vs 20 no\n")
    offset, token = task.first_repeat(problem, thinking)  # the `left` list of the `Wait, …` line moved it down
    assert token == "+" and thinking[:offset].endswith("no\ntry 9")
    assert task.repeated_lines(problem, thinking) == {6}


def test_plans_list_each_move_once_and_the_next_move_is_the_head_of_the_last_list():
    """With plans, a search at three numbers only ever copies: its next move is the head of the last list written at
    those numbers, and a back line's list is the one before without its head. Without the plans, the trace is the
    base one, unchanged."""
    from ponder.tasks.countdown import CountdownTask
    from ponder.tasks.countdown_replay import _moves_of

    base, planned = CountdownTask(), CountdownTask(plans=True)
    backs = 0
    for level in (2, 3, 4, 5):
        for p in planned.sample_many(6, level, 40, split="train"):
            clean = base.trace(p, random.Random(1), 0.04)
            text = planned.trace(p, random.Random(1), 0.04)
            assert re.sub(r"(\n| )plan [^\n]*", "", text).replace("\n\n", "\n") == clean
            assert planned.check_steps(p, text) == base.check_steps(p, clean)
            assert planned.verify(p, planned.answer_from_trace(p, text)).correct
            lines = text.split("\n")
            last: dict[str, list[str]] = {}  # numbers as written -> the last list written there
            state = " ".join(map(str, p.meta["numbers"]))
            for i, line in enumerate(lines):
                if line.startswith("plan "):
                    moves = line.split()[1:]
                    leaves = {o[:3]: o[3] for o in _moves_of(tuple(int(v) for v in state.split()))}
                    split = [re.fullmatch(r"(\d+)([-+*/])(\d+)", m).groups() for m in moves]
                    distinct = set(leaves.values())
                    assert {leaves[m] for m in split} == distinct and len(moves) == len(distinct)
                    last[state] = moves
                elif line.startswith("back to "):
                    numbers, _, rest = line[len("back to "):].partition(" plan ")
                    state = numbers
                    if rest:
                        assert rest.split() == last[numbers][1:]
                        last[numbers] = rest.split()
                        backs += 1
                if (line.startswith("plan ") or " plan " in line) and lines[i + 1].startswith("try "):
                    assert lines[i + 1][len("try "):].startswith(last[state][0] + "=")
                left = re.search(r" left ([\d ]+)$", line)
                if left and (line.startswith("try ") or line.startswith("Wait, ")):
                    state = left[1]
    assert backs > 50


def test_plans_refuse_a_search_that_went_off_the_books():
    from ponder.tasks.base import Span
    from ponder.tasks.countdown import CountdownTask

    task = CountdownTask(plans=True)
    p = next(q for q in task.sample_many(0, 2, 30, split="train") if "back to" in CountdownTask().trace(q))
    lines = CountdownTask().trace(p).splitlines(keepends=True)
    assert task.reformat(p, [Span(x) for x in lines]) is not None
    made_up = [x if not x.startswith("back to ") else "back to 99 98 97\n" for x in lines]
    assert task.reformat(p, [Span(x) for x in made_up]) is None
    assert CountdownTask().reformat(p, [Span(x) for x in made_up]) is not None  # the base format takes it as it is
