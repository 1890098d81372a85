import pytest
import torch

from ponder.engine import GenerationParams, generate
from ponder.train.data import prompt_ids


class Biased(torch.nn.Module):
    """Wraps a model and adds `bias` to one token's logit, to make a random model close its thinking early."""

    def __init__(self, model, token_id: int, bias: float):
        super().__init__()
        self.model, self.token_id, self.bias = model, token_id, bias

    def forward(self, **kwargs):
        out = self.model(**kwargs)
        out.logits[..., self.token_id] += self.bias
        return out


def _prompts(tok, n=3):
    return [prompt_ids(tok, q) for q in ["What is 2 + 3?", "What is 482 * 317?", "hello"][:n]]


@pytest.mark.parametrize("budget", [0, 1, 5, 17])
def test_budget_is_never_exceeded_and_forced_tokens_are_masked(tiny_model, budget):
    model, tok, _ = tiny_model
    params = GenerationParams(max_thinking=budget, answer_budget=4, temperature=1.0, seed=0)
    for c in generate(model, tok, _prompts(tok), params):
        assert c.thinking_tokens <= budget
        assert len(c.mask) == len(c.token_ids)
        think, end = tok.convert_tokens_to_ids(["<think>", "</think>"])
        assert c.token_ids[0] == think and c.mask[0] == 0
        assert end in c.token_ids, "the budget must close the thinking"
        if c.finish_reason == "thinking_budget":
            assert c.mask[c.token_ids.index(end)] == 0
        assert c.answer_tokens <= 4
        assert c.finish_reason in ("stop", "length", "thinking_budget")


def test_effort_none_reports_zero_thinking(tiny_model):
    model, tok, _ = tiny_model
    c = generate(model, tok, _prompts(tok, 1), GenerationParams(max_thinking=0, answer_budget=3))[0]
    assert c.thinking_tokens == 0 and c.thinking == ""
    assert c.token_ids[:2] == tok.convert_tokens_to_ids(["<think>", "</think>"]) and c.mask[:2] == [0, 0]


def test_handover_text_counts_inside_the_budget(tiny_model):
    model, tok, _ = tiny_model
    params = GenerationParams(max_thinking=12, handover=" so the answer is", answer_budget=3)
    c = generate(model, tok, _prompts(tok, 1), params)[0]
    assert c.thinking_tokens == 12 and c.thinking.endswith(" so the answer is")
    assert c.finish_reason in ("thinking_budget", "length")


def test_minimum_thinking_replaces_an_early_end(tiny_model):
    model, tok, _ = tiny_model
    end = tok.convert_tokens_to_ids("</think>")
    eager = Biased(model, end, 50.0)
    quick = generate(eager, tok, _prompts(tok, 1), GenerationParams(max_thinking=40, answer_budget=2))[0]
    assert quick.thinking_tokens == 0
    slow = generate(eager, tok, _prompts(tok, 1), GenerationParams(max_thinking=40, min_thinking=10,
                                                                      answer_budget=2))[0]
    assert slow.thinking_tokens >= 10 and "Wait" in slow.thinking
    wait_positions = [i for i, t in enumerate(slow.token_ids) if t == tok.convert_tokens_to_ids("Wait")]
    assert wait_positions and all(slow.mask[i] == 0 for i in wait_positions)


def test_reserved_answer_budget_holds(tiny_model):
    model, tok, _ = tiny_model
    eos = tok.eos_token_id
    never_stop = Biased(model, eos, -1e4)
    c = generate(never_stop, tok, _prompts(tok, 1), GenerationParams(max_thinking=5, answer_budget=7))[0]
    assert c.answer_tokens == 7 and c.finish_reason == "length"


def test_seeds_make_runs_repeatable(tiny_model):
    model, tok, _ = tiny_model
    params = GenerationParams(max_thinking=20, answer_budget=5, temperature=1.0, top_p=0.9, top_k=50, seed=11)
    a = generate(model, tok, _prompts(tok), params)
    b = generate(model, tok, _prompts(tok), params)
    assert [c.token_ids for c in a] == [c.token_ids for c in b]
    other = generate(model, tok, _prompts(tok), GenerationParams(max_thinking=20, answer_budget=5,
                                                                 temperature=1.0, seed=12))
    assert [c.token_ids for c in a] != [c.token_ids for c in other]


def test_batched_greedy_equals_one_by_one(tiny_model):
    model, tok, _ = tiny_model
    params = GenerationParams(max_thinking=10, answer_budget=4)
    batch = generate(model, tok, _prompts(tok), params)
    single = [generate(model, tok, [p], params)[0] for p in _prompts(tok)]
    assert [c.token_ids for c in batch] == [c.token_ids for c in single]


@pytest.mark.parametrize("kwargs", [{"max_thinking": -1}, {"min_thinking": 5, "max_thinking": 2},
                                    {"answer_budget": 0}, {"temperature": -1.0}, {"top_p": 0.0}])
def test_bad_params_are_refused(kwargs):
    with pytest.raises(ValueError):
        GenerationParams(**kwargs)


def test_rows_with_their_own_settings_share_a_batch(tiny_model):
    model, tok, _ = tiny_model
    settings = [GenerationParams(max_thinking=3, answer_budget=2),
                GenerationParams(max_thinking=9, answer_budget=4, temperature=1.0, seed=5),
                GenerationParams(max_thinking=0, answer_budget=3)]
    together = generate(model, tok, _prompts(tok), settings)
    alone = [generate(model, tok, [p], [s])[0] for p, s in zip(_prompts(tok), settings, strict=True)]
    assert [c.token_ids for c in together] == [c.token_ids for c in alone]
    assert [c.thinking_tokens for c in together][0] <= 3 and together[2].thinking_tokens == 0


def test_a_cancelled_row_stops_and_the_others_go_on(tiny_model):
    model, tok, _ = tiny_model
    steps = {"n": 0}

    def cancelled(row):
        steps["n"] += 1
        return row == 1 and steps["n"] > 6

    params = GenerationParams(max_thinking=20, answer_budget=4)
    out = generate(model, tok, _prompts(tok), params, cancelled=cancelled)
    assert out[1].finish_reason == "cancelled" and len(out[1].token_ids) < len(out[0].token_ids)
    assert out[0].token_ids == generate(model, tok, _prompts(tok, 1), params)[0].token_ids


def test_rows_that_join_a_running_batch_decode_as_they_would_alone(tiny_model, monkeypatch):
    """Continuous batching: a prompt longer and one shorter than the running batch's cache join mid-generation
    (the cache is left-padded on one side or the other), and rows that leave first get their columns trimmed."""
    import importlib

    from ponder.engine import Decoder

    engine = importlib.import_module("ponder.engine.generate")  # the module; the package's `generate` is the function
    trimmed = []
    trim = engine._trim_unused_columns

    def counting_trim(cache, attn):
        out = trim(cache, attn)
        trimmed.append(attn.shape[1] - out.shape[1])
        return out

    monkeypatch.setattr(engine, "_trim_unused_columns", counting_trim)
    model, tok, _ = tiny_model
    prompts = _prompts(tok)
    long_prompt = tok.apply_chat_template([{"role": "user", "content": "What is 123 * 456 + 789 - 1011?" * 3}],
                                          add_generation_prompt=True, tokenize=True, return_dict=False)
    settings = [GenerationParams(max_thinking=6, answer_budget=2), GenerationParams(max_thinking=14, answer_budget=3),
                GenerationParams(max_thinking=9, answer_budget=3, temperature=1.0, seed=4),
                GenerationParams(max_thinking=12, answer_budget=2)]
    joining = [prompts[0], prompts[1], list(long_prompt), prompts[2]]
    alone = [generate(model, tok, [p], [s])[0].token_ids for p, s in zip(joining, settings, strict=True)]
    decoder, done = Decoder(model, tok), {}
    decoder.add(joining[:2], settings[:2])
    for _ in range(3):
        done.update(decoder.step())
    decoder.add([joining[2]], [settings[2]])  # longer than the cache so far: the running rows are padded
    for _ in range(10):
        done.update(decoder.step())
    assert 0 in done  # the first row has left; its columns are trimmed
    decoder.add([joining[3]], [settings[3]])  # shorter: the new row is padded
    while len(decoder):
        done.update(decoder.step())
    assert [done[i].token_ids for i in range(4)] == alone
    assert max(trimmed) > 0  # when the long row left, the columns only it used were dropped


def test_a_capped_batch_refills_as_rows_finish_and_keeps_prompt_order(tiny_model):
    model, tok, _ = tiny_model
    settings = [GenerationParams(max_thinking=n, answer_budget=2) for n in (12, 2, 7, 4, 9)]
    prompts = _prompts(tok) + _prompts(tok, 2)
    full = generate(model, tok, prompts, settings)
    capped = generate(model, tok, prompts, settings, max_batch=2)
    assert [c.token_ids for c in capped] == [c.token_ids for c in full]
    with pytest.raises(ValueError):
        generate(model, tok, prompts, settings, max_batch=0)
