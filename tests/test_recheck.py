"""Rechecks (ponder.recheck): the word `check` forced in place of an end of thinking, what the traces teach after
it, the config that trains it, and the efforts that take it."""

import json
import random

import pytest
import torch
from tests.test_engine import Biased

from ponder.engine import GenerationParams, generate
from ponder.model.checkpoint import PONDER_JSON, PonderMeta
from ponder.recheck import RECHECK_TEXT, recheck_counts, rechecks_for
from ponder.tasks import get_task
from ponder.train.data import IGNORE, make_example, prompt_ids
from ponder.train.sft_config import SFTConfig

ARITH = get_task("arithmetic")


def _thinking_and_learned(tok, ex):
    text = tok.decode(ex.input_ids)
    learned = tok.decode([t for t, lab in zip(ex.input_ids, ex.labels, strict=True) if lab != IGNORE])
    return text.split("<think>")[1].split("</think>")[0], learned


@pytest.mark.parametrize("level", [1, 2, 3, 5])
def test_an_arithmetic_look_is_the_whole_scratchpad_again(tiny_model, level):
    _, tok, _ = tiny_model
    for p in ARITH.sample_many(0, level, 5):
        plain = ARITH.trace(p)
        ex = make_example(tok, ARITH, p, random.Random(0), direct=False, slip_rate=0.0, rechecks=2)
        thinking, learned = _thinking_and_learned(tok, ex)
        assert thinking == plain + 2 * (RECHECK_TEXT + "\n" + plain)
        assert thinking.endswith(f"result {' '.join(p.answer)}\n" + plain.splitlines()[-1])
        assert tok.decode(ex.input_ids).split("</think>")[1].startswith(p.answer)
        # the forced word is never learned (the model must not go on by itself); the look after it is
        assert learned.count("check") == thinking.count("check") - 2
        assert learned.count("result") == 3


def test_a_countdown_search_looks_again_at_its_last_check_line(tiny_model):
    _, tok, _ = tiny_model
    countdown = get_task("countdown")
    c = countdown.sample_many(0, 2, 1)[0]
    ex = make_example(tok, countdown, c, random.Random(0), False, 0.0, rechecks=1)
    thinking, _ = _thinking_and_learned(tok, ex)
    trace = countdown.trace(c, random.Random(0))
    check = [line for line in thinking.splitlines() if line.startswith("check ")]
    assert len(check) == 2 and check[0] == check[1] and thinking.startswith(trace.rstrip("\n"))
    assert tok.decode(ex.input_ids).split("</think>")[1].startswith(countdown.answer_from_trace(c, thinking))


def test_a_cut_or_direct_example_takes_no_recheck(tiny_model):
    _, tok, _ = tiny_model
    p = ARITH.sample_many(0, 4, 1)[0]
    for kwargs in ({"cut": True}, {"direct": True}):
        args = {"direct": False, **kwargs}
        ex = make_example(tok, ARITH, p, random.Random(0), slip_rate=0.0, rechecks=2, **args)
        assert tok.decode(ex.input_ids).count("result") <= 1


def test_the_engine_forces_the_word_once_per_recheck_and_masks_it(tiny_model):
    model, tok, _ = tiny_model
    end = tok.convert_tokens_to_ids("</think>")
    eager = Biased(model, end, 50.0)  # ends its thinking at once, every time it may
    prompt = [prompt_ids(tok, "What is 2 + 3?")]
    for n in (0, 1, 3):
        c = generate(eager, tok, prompt, GenerationParams(max_thinking=40, answer_budget=2, rechecks=n))[0]
        forced = tok.encode(RECHECK_TEXT, add_special_tokens=False)
        assert c.thinking == RECHECK_TEXT * n and c.thinking_tokens == n * len(forced)
        assert all(m == 0 for m in c.mask[1:1 + n * len(forced)])
    # a recheck that would not fit the budget is not started
    c = generate(eager, tok, prompt, GenerationParams(max_thinking=3, answer_budget=2, rechecks=3))[0]
    assert c.thinking_tokens <= 3


class Paced(torch.nn.Module):
    """Wraps a model so that it ends its thinking every `every` steps and never in between: a pass of fixed length."""

    def __init__(self, model, end_id: int, every: int):
        super().__init__()
        self.model, self.end_id, self.every, self.steps = model, end_id, every, 0

    def forward(self, **kwargs):
        out = self.model(**kwargs)
        self.steps += 1
        out.logits[..., self.end_id] += 50.0 if self.steps % self.every == 0 else -50.0
        return out


def test_a_recheck_starts_only_where_the_budget_holds_the_first_pass_again(tiny_model):
    model, tok, _ = tiny_model
    end = tok.convert_tokens_to_ids("</think>")
    prompt = [prompt_ids(tok, "What is 2 + 3?")]
    forced = len(tok.encode(RECHECK_TEXT, add_special_tokens=False))
    free = generate(Paced(model, end, 12), tok, prompt, GenerationParams(answer_budget=2, rechecks=5))[0]
    # thinking tokens before each forced word (token 0 is the forced `<think>`)
    starts = [i - 1 for i in range(1, len(free.mask)) if free.mask[i] == 0 and free.mask[i - 1] == 1]
    assert len(starts) == 5
    # Room for a third look's word but not for the first pass again after it: the thinking ends after the second
    # look, by the model's own `</think>`, instead of a third look the budget would cut. One token more, it starts.
    budget = starts[2] + starts[0] + forced
    for room, looks in ((budget, 2), (budget + 1, 3)):
        c = generate(Paced(model, end, 12), tok, prompt, GenerationParams(max_thinking=room, answer_budget=2,
                                                                          rechecks=5))[0]
        assert c.token_ids[:starts[2] + 1] == free.token_ids[:starts[2] + 1]
        assert sum(1 for i in range(1, len(c.mask)) if c.mask[i] == 0 and c.mask[i - 1] == 1) == looks
    assert c.thinking_tokens <= budget + 1


def test_efforts_take_the_rechecks_their_checkpoint_names():
    assert recheck_counts(None) == {} and recheck_counts((1.0,)) == {}
    assert recheck_counts((2.0, 1.0)) == {"high": 1}
    assert recheck_counts((2.0, 1.0, 1.0)) == {"medium": 1, "high": 2}
    table = {"medium": 1, "high": 2}
    assert [rechecks_for(table, e) for e in ("none", "low", "medium", "high")] == [0, 0, 1, 2]
    assert rechecks_for(table, "high", budget=500) == 0, "an explicit budget asks for tokens, not looks"
    assert PonderMeta().rechecks == {}


def test_bad_recheck_weights_are_refused_and_good_ones_recorded():
    for bad in ((1.0,), (0.0, 0.0), (1.0, -1.0)):
        with pytest.raises(ValueError, match="recheck_weights"):
            SFTConfig(out="x", recheck_weights=bad)
    assert "--recheck-weights 2.0,1.0,1.0" in SFTConfig(out="x", recheck_weights=(2.0, 1.0, 1.0)).command()
    with pytest.raises(ValueError, match="rechecks"):
        GenerationParams(rechecks=-1)


@pytest.fixture(scope="module")
def recheck_checkpoint(tmp_path_factory, make_checkpoint):
    folder = make_checkpoint(tmp_path_factory.mktemp("recheck") / "tiny")
    meta = PonderMeta.load(folder)
    meta.rechecks = {"medium": 1, "high": 2}
    (folder / PONDER_JSON).write_text(json.dumps(meta.to_dict()))
    return folder


def _recording(monkeypatch, module):
    seen = []
    real = module.generate

    def record(model, tokenizer, prompts, params, **kw):
        seen.append({p.rechecks for p in ([params] if isinstance(params, GenerationParams) else params)})
        return real(model, tokenizer, prompts, params, **kw)

    monkeypatch.setattr(module, "generate", record)
    return seen


def test_eval_ask_and_serve_give_each_effort_its_rechecks(recheck_checkpoint, tmp_path, monkeypatch, capsys):
    import ponder.ask as ask_module
    import ponder.eval.grid as grid
    from ponder.cli import main

    seen = _recording(monkeypatch, grid)
    argv = ["eval", "--model", str(recheck_checkpoint), "--tasks", "arithmetic", "--levels", "1", "--n", "2",
            "--efforts", "none,low,medium,high", "--budgets", "12", "--out", str(tmp_path / "ev"), "--json"]
    assert main(argv) == 0
    assert seen == [{0}, {0}, {1}, {2}, {0}]
    rows = {r["effort"]: r["rechecks"] for r in json.loads(capsys.readouterr().out)["results"]}
    assert rows == {"none": 0, "low": 0, "medium": 1, "high": 2, "budget=12": 0}

    seen = _recording(monkeypatch, ask_module)
    ask_module.ask("What is 2 + 3?", model=str(recheck_checkpoint), effort="high")
    ask_module.ask("What is 2 + 3?", model=str(recheck_checkpoint), effort="high", budget=10)
    assert seen == [{2}, {0}]

    from fastapi.testclient import TestClient

    from ponder.serve.app import create_app
    from ponder.serve.batcher import Batcher

    submitted = []
    real_submit = Batcher.submit

    def record(self, prompt, params):
        submitted.append(params.rechecks)
        return real_submit(self, prompt, params)

    monkeypatch.setattr(Batcher, "submit", record)
    with TestClient(create_app(str(recheck_checkpoint))) as client:
        body = {"model": "tiny", "messages": [{"role": "user", "content": "What is 2 + 3?"}]}
        for extra in ({"reasoning_effort": "medium"}, {"reasoning_effort": "minimal"}, {"thinking_budget": 5}, {}):
            assert client.post("/v1/chat/completions", json={**body, **extra}).status_code == 200
    assert submitted == [1, 0, 0, 2]


def test_the_sft_pool_draws_rechecks_only_when_asked(pool_texts):
    from ponder.train.sft import _meta

    def looks(cfg):
        return {text.count("check units") for text in pool_texts(cfg)}  # each look ends with one, as the trace does

    base = dict(size="test", max_len=640, batch_tokens=2048, pool=96, tasks=("arithmetic",), seed=4)
    plain = SFTConfig(**base)
    cfg = SFTConfig(**base, recheck_weights=(1.0, 1.0, 1.0))
    assert not _meta(plain, {}, False).rechecks and _meta(cfg, {}, False).rechecks == {"medium": 1, "high": 2}
    assert looks(cfg) == {0, 1, 2, 3}  # direct answers have none
    assert looks(plain) == {0, 1}
