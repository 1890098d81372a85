"""Decoding guards: countdown's keeps the search's books without blocking anything the solver writes, and the engine
follows a guard's continuations."""

import random

import pytest
import torch

from ponder.engine import GenerationParams, generate
from ponder.engine.guard import TokenGuard
from ponder.tasks import Problem, get_task
from ponder.tasks.countdown import CountdownTask
from ponder.tasks.countdown_guard import CountdownGuard
from ponder.train.data import prompt_ids

TASK = get_task("countdown")


def _problem(numbers, target, rule="some"):
    return Problem("countdown", 2, "", "", {"numbers": numbers, "target": target, "rule": rule})


def _guard(problem, thinking: str) -> CountdownGuard:
    guard = CountdownGuard(problem)
    guard.feed(thinking)
    return guard


@pytest.mark.parametrize(("systematic", "spaced"), [(False, False), (True, False), ("prune", False),
                                                   ("flat", False), (True, True), ("flat", True)])
@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_the_guard_never_blocks_a_token_of_a_solver_trace(request, level, systematic, spaced):
    """The solver's traces (slips, caught false hits and all) are searches without repeats, with `back to` lines up
    the path and right `left` lists: every token of them must stay allowed, or guarded decoding would fight what
    the model was trained on. With either tokenizer: space-prefixed pieces (` 13`) cross the guard's words."""
    tokenizer = request.getfixturevalue("spaced_tokenizer" if spaced else "tokenizer")
    rng = random.Random(level)
    vocab = len(tokenizer)
    # systematic, pruned and flat traces write their states largest first
    writer = CountdownTask(systematic=True, prune=systematic == "prune", flat=systematic == "flat") if systematic \
        else TASK
    for _ in range(40):
        problem = TASK.sample_split(rng, level, "train")
        guard = TokenGuard(TASK.guard(problem), tokenizer)
        for token in tokenizer.encode(writer.trace(problem, rng, slip_rate=0.1), add_special_tokens=False):
            masked = guard.mask(torch.zeros(vocab))
            assert masked[token] == 0, (problem.meta, tokenizer.decode([token]), guard.guard.line)
            guard.feed(token)
        assert guard.guard.active


def test_with_space_prefixed_tokens_the_guard_picks_the_number_after_try_and_left(spaced_tokenizer):
    """` 13` carries the space after `try` and `left`: the guard must already speak after `try` and ` left`, not
    only once a lone space is written, or the number is chosen unguarded."""
    problem = _problem([3, 5, 7, 11], 40)
    vocab = spaced_tokenizer.get_vocab()
    guard = TokenGuard(CountdownGuard(problem), spaced_tokenizer)
    for text, allowed, blocked in (("try", " 11", " 99"), ("try 11+7=18 vs 40 no left", " 3", " 11")):
        for token in spaced_tokenizer.encode(text, add_special_tokens=False):
            guard.feed(token)
        masked = guard.mask(torch.zeros(len(spaced_tokenizer)))
        assert masked[vocab[allowed]] == 0 and masked[vocab[blocked]] == float("-inf"), text
        guard = TokenGuard(CountdownGuard(problem), spaced_tokenizer)


def test_a_move_already_tried_from_the_same_numbers_is_not_offered_again():
    problem = _problem([10, 1, 3], 20)
    thinking = ("goal 20 some 10 1 3\ntry 10+3=13 vs 20 no left 1 13\ntry 13+1=14 vs 20 no\n"
                "back to 10 1 3\ntry ")
    heads = _guard(problem, thinking).continuations()
    assert "10+3=" not in heads and "10+1=" in heads and "3-1=" in heads
    assert all(h.endswith("=") for h in heads)
    # numbers that are not there and divisions that leave a fraction are no moves
    assert not any(h.startswith(("20", "10/3")) for h in heads)
    # from the numbers below, 13+1 was tried and 13-1 was not
    below = _guard(problem, "goal 20 some 10 1 3\ntry 10+3=13 vs 20 no left 1 13\ntry 13+1=14 vs 20 no\ntry ")
    assert "13-1=" in below.continuations() and "13+1=" not in below.continuations()


def test_slack_lets_the_models_first_repeats_through_and_counts_the_lines():
    problem = _problem([10, 1, 3], 20)
    start = "goal 20 some 10 1 3\ntry 10+3=13 vs 20 no left 1 13\ntry 13+1=14 vs 20 no\nback to 10 1 3\n"
    loose = CountdownGuard(problem, slack=1)
    loose.feed(start + "try ")
    assert "10+3=" in loose.continuations()  # the model may repeat once ...
    loose.feed("10+3=13 vs 20 no left 1 13\ntry 13-1=12 vs 20 no\nback to 10 1 3\ntry ")
    assert "10+3=" not in loose.continuations() and loose.repeated_lines == [4]  # ... then the books are kept
    assert CountdownGuard(problem).repeated_lines == [] and TASK.repeated_lines(problem, start) == set()
    assert TASK.repeated_lines(problem, start + "try 10+3=13 vs 20 no left 1 13\n") == {4}


def test_back_lines_name_numbers_on_the_path_and_left_lists_are_copied_right():
    problem = _problem([5, 13, 6, 4], 24, "all")
    thinking = "goal 24 all 5 13 6 4\ntry 13+5=18 left 6 4 18\ntry 18+6=24 left 4 24\ntry 24-4=20 vs 24 no\n"
    guard = _guard(problem, thinking + "back to ")
    assert guard.continuations() == ["5 13 6 4\n", "6 4 18\n"]  # not the state it is at, not a made-up one
    guard.feed("6 4 18\n")
    assert guard.state == (4, 6, 18)
    guard.feed("try 18+4=22 left ")
    # as copied, or largest first as systematic traces write; flat traces finish two numbers on the line (` = …`)
    assert guard.continuations() == ["22 6\n", "22 6 =", "6 22\n", "6 22 ="]
    guard.feed("6 22\ntry 22-6=16 Wait, 22-6=16 vs 24 no\n")
    assert guard.state == (6, 22)


def test_a_state_with_every_move_tried_goes_back_up():
    guard = _guard(_problem([9, 3, 1], 5), "goal 5 some 9 3 1\ntry 3+1=4 vs 5 no left 9 4\n")
    for move in ("9+4=13", "9*4=36", "9-4=5"):  # the legal moves of 9 4 (9/4 leaves a fraction)
        assert guard.continuations() is None  # a new line may start with anything
        guard.feed(f"try {move} vs 5 no\n")
    assert guard.continuations() == ["back to 9 3 1\n"]
    # after a hit the check comes first: nothing is forced
    hit = _guard(_problem([9, 3, 1], 5), "goal 5 some 9 3 1\ntry 3+1=4 vs 5 no left 9 4\n"
                 "try 9+4=13 vs 5 no\ntry 9*4=36 vs 5 no\ntry 9-4=5 vs 5 yes\n")
    assert hit.continuations() is None


def test_a_line_that_does_not_fit_the_numbers_switches_the_guard_off():
    guard = _guard(_problem([10, 1, 3], 20), "goal 20 some 10 1 3\ntry 7+7=14 vs 20 no\n")
    assert not guard.active and guard.continuations() is None


class _Spell:
    """A guard that makes the thinking spell one text, then lets the model go on."""

    def __init__(self, text: str):
        self.text, self.written = text, ""

    def feed(self, text: str) -> None:
        self.written += text

    def continuations(self) -> list[str] | None:
        rest = self.text[len(self.written):] if self.text.startswith(self.written) else ""
        return [rest] if rest else None


def test_the_engine_follows_a_guard_and_masks_nothing_of_what_it_forces(tiny_model):
    model, tok, _ = tiny_model
    prompts = [prompt_ids(tok, "What is 2 + 3?")] * 2
    params = GenerationParams(max_thinking=40, answer_budget=4, temperature=1.0, seed=3)  # room to spell by letters
    guarded, free = generate(model, tok, prompts, params, guards=[_Spell("try 13+6=19 left"), None])
    assert guarded.thinking.startswith("try 13+6=19 left")
    assert not free.thinking.startswith("try 13+6=19 left")
    # the model chose each guarded token among those allowed: they are its own, and training may learn from them
    assert guarded.mask[1:8] == [1] * 7
    with pytest.raises(ValueError, match="guards"):
        generate(model, tok, prompts, params, guards=[None])


def test_completions_count_the_steps_where_the_guard_overrode_the_model(tiny_model):
    model, tok, _ = tiny_model
    prompts = [prompt_ids(tok, "What is 2 + 3?")] * 2
    params = GenerationParams(max_thinking=24, answer_budget=4)
    free = generate(model, tok, prompts[:1], params)[0]
    own = tok.decode(free.token_ids[1:4])  # the first tokens greedy decoding writes anyway: nothing to override
    follows, spelled = generate(model, tok, prompts, params, guards=[_Spell(own), _Spell("try 13+6=19")])
    assert follows.thinking == free.thinking and follows.guard_overrides == 0
    # at most one override a character spelled (the model may spell a word in several tokens)
    assert spelled.thinking.startswith("try 13+6=19") and 0 < spelled.guard_overrides <= len("try 13+6=19")
    assert free.guard_overrides == 0
