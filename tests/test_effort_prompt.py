"""A reasoning effort stated in the prompt: per-effort arithmetic scratchpads, the system line, and the places that
state it (training data, eval grid, ask, serve) only for models trained to read it."""

import json
import random

import pytest

from ponder.effort_prompt import effort_messages, stated_effort
from ponder.model.checkpoint import PONDER_JSON, PonderMeta
from ponder.tasks import LEVELS, get_task
from ponder.tasks.arithmetic_pad import scratchpad
from ponder.train.data import make_example, prompt_ids

ARITH = get_task("arithmetic")


def _text(problem, effort, seed=0, slip_rate=0.0):
    spans = ARITH.trace_spans(problem, random.Random(seed), slip_rate, effort)
    return spans, "".join(s.text for s in spans)


@pytest.mark.parametrize("level", LEVELS)
def test_more_effort_is_a_longer_scratchpad_that_still_ends_at_the_answer(level):
    for p in ARITH.sample_many(0, level, 20):
        lengths = []
        for effort in ("low", "medium", "high"):
            text = _text(p, effort, seed=1)[1]
            assert "".join(text.split("result ")[-1].split("\n")[0].split()) == p.answer, (effort, text)
            lengths.append(len(text))
        assert lengths[0] < lengths[1] < lengths[2] if level >= 3 else lengths[0] < lengths[1] == lengths[2]
        assert _text(p, "medium")[1] == _text(p, None)[1]  # medium is the scratchpad of a model told nothing


def test_the_efforts_part_at_their_first_line_and_end_with_the_same_result():
    p = ARITH.sample_many(0, 3, 1)[0]  # a three-digit number times a digit: the units step carries nothing in
    low, medium, high = (_text(p, e, seed=3)[1] for e in ("low", "medium", "high"))
    a, d = p.meta["a"], p.meta["b"]
    header = f"{' '.join(str(a))} * {d}\n"
    first = f"{a}*{d}: {a % 10}*{d}"
    assert low.startswith(f"{header}{first}=")  # the zero carry left out
    assert medium.startswith(f"{header}{first}+0=")
    assert high.startswith(f"{header}{first}+0=")
    tail = medium[medium.index("result "):]
    assert low.endswith(tail) and high.startswith(medium + "\ncheck nines ") and high.endswith(" ok\n" + tail)
    assert all(ARITH.check_steps(p, high))


@pytest.mark.parametrize(("a", "b", "last"), [
    (417, 3, "check nines 4+1+7=12 1+2+0=3 so 3 and 3 so 3*3+0=9 so 9 vs 1+2+5=8 8+1+0=9 so 9 ok"),
    (73, 48, "check nines 7+3+0=10 1+0+0=1 so 1 and 4+8+0=12 1+2+0=3 so 3 so 1*3+0=3 so 3 vs 3+5+0=8 8+4+0=12 "
             "1+2+0=3 so 3 ok"),
    (472, 234, "check nines 4+7+2=13 1+3+0=4 so 4 and 2+3+4=9 so 9 so 4*9+0=36 3+6+0=9 so 9 vs 1+1+0=2 2+4+4=10 "
               "1+0+8=9 so 9 ok"),
])
def test_a_high_product_is_checked_by_casting_out_nines_after_the_plain_scratchpad(a, b, last):
    text = "".join(s.text for s in scratchpad(a, "*", b, None, 0.0, "high"))
    medium = "".join(s.text for s in scratchpad(a, "*", b, None, 0.0, "medium"))
    ending = medium[medium.index("result "):]  # the result line and the units check, written again at the end
    assert text == f"{medium}\n{last}\n{ending}"


@pytest.mark.parametrize("level", LEVELS)
def test_every_nines_check_of_a_right_result_agrees_and_its_steps_are_right(level):
    for p in ARITH.sample_many(1, level, 100):
        text = _text(p, "high")[1]
        assert ("nines" in text) == (p.meta["op"] == "*")
        assert all(ARITH.check_steps(p, text)) and " no\n" not in text
        assert text.endswith(f"result {' '.join(p.answer)}\n" + text.split("\n")[-1])  # ends as at medium


def test_the_nines_check_says_no_to_a_result_whose_digital_root_is_off():
    from ponder.tasks.arithmetic_pad import Writer, _nines_check

    for wrong, verdict in ((1252, "no"), (1260, "ok")):  # 417 * 3 = 1251; casting out nines misses a slip of 9
        w = Writer(None, 0.0, "high")
        _nines_check(w, 417, 3, wrong)
        assert w.spans[-1].text.endswith(f" {verdict}\n") and " so 9 vs " in w.spans[-1].text


def test_sums_and_differences_are_written_as_at_medium_at_high():
    for level in (1, 2):
        for p in ARITH.sample_many(2, level, 20):
            assert _text(p, "high")[1] == _text(p, "medium")[1]


def test_an_unknown_effort_is_refused():
    with pytest.raises(ValueError, match="effort"):
        scratchpad(12, "+", 30, None, 0.0, "extreme")


def test_countdown_thinks_the_same_at_every_effort():
    task = get_task("countdown")
    p = task.sample_many(0, 4, 1)[0]
    texts = {"".join(s.text for s in task.trace_spans(p, random.Random(3), 0.0, e)) for e in (None, "low", "high")}
    assert len(texts) == 1


def test_the_effort_line_is_a_system_turn_merged_into_one_that_exists():
    user = [{"role": "user", "content": "hi"}]
    assert effort_messages(user, None) is user
    assert effort_messages(user, "low") == [{"role": "system", "content": "Reasoning: low"}, *user]
    merged = effort_messages([{"role": "system", "content": "Be brief."}, *user], "high")
    assert merged[0] == {"role": "system", "content": "Reasoning: high\nBe brief."} and len(merged) == 2


def test_the_effort_is_stated_only_to_models_that_read_it_and_never_for_none_or_a_budget():
    assert stated_effort(True, "medium") == "medium"
    assert stated_effort(False, "medium") is None
    assert stated_effort(True, "none") is None
    assert stated_effort(True, "high", budget=100) is None
    assert stated_effort(True, "budget=40") is None


def test_training_examples_state_the_effort_they_were_written_for(tokenizer):
    p = ARITH.sample_many(0, 3, 1)[0]
    ex = make_example(tokenizer, ARITH, p, random.Random(0), direct=False, slip_rate=0.0, effort="low")
    text = tokenizer.decode(ex.input_ids)
    assert "<|system|>Reasoning: low<|end|><|user|>" in text and "*7=56 " in text
    assert ex.input_ids[:len(prompt_ids(tokenizer, p.prompt, "low"))] == prompt_ids(tokenizer, p.prompt, "low")
    plain = tokenizer.decode(make_example(tokenizer, ARITH, p, random.Random(0), False, 0.0).input_ids)
    assert "<|system|>" not in plain


def test_the_sft_pool_draws_every_effort_only_when_asked(pool_texts):
    from ponder.train.sft import _meta
    from ponder.train.sft_config import SFTConfig

    def lines(cfg):
        return {text.split("<|system|>")[1].split("<|end|>")[0] if "<|system|>" in text else ""
                for text in pool_texts(cfg)}

    base = dict(size="test", max_len=640, batch_tokens=2048, pool=96, tasks=("arithmetic",), seed=4)
    assert lines(SFTConfig(**base)) == {""}
    cfg = SFTConfig(**base, effort_prompts=True)
    assert lines(cfg) == {"", "Reasoning: low", "Reasoning: medium", "Reasoning: high"}
    assert "--effort-prompts" in cfg.command()
    assert _meta(cfg, {}, False).effort_prompt and not _meta(SFTConfig(**base), {}, False).effort_prompt


def _reads_effort(folder):
    meta = json.loads((folder / PONDER_JSON).read_text())
    (folder / PONDER_JSON).write_text(json.dumps({**meta, "effort_prompt": True}))
    assert PonderMeta.load(folder).effort_prompt
    return folder


@pytest.fixture(scope="module")
def effort_checkpoint(tmp_path_factory, make_checkpoint):
    return _reads_effort(make_checkpoint(tmp_path_factory.mktemp("effort") / "tiny"))


def _recording(monkeypatch, module):
    seen = []

    def record(model, tokenizer, prompts, params, **kw):
        seen.append({tokenizer.decode(p).split("<|user|>")[0] for p in prompts})
        return real(model, tokenizer, prompts, params, **kw)

    real = module.generate
    monkeypatch.setattr(module, "generate", record)
    return seen


def test_the_eval_grid_states_each_effort_and_nothing_for_none_or_budgets(effort_checkpoint, tiny_checkpoint,
                                                                          tmp_path, monkeypatch, capsys):
    import ponder.eval.grid as grid
    from ponder.cli import main

    seen = _recording(monkeypatch, grid)
    argv = ["eval", "--tasks", "arithmetic", "--levels", "1", "--n", "2", "--efforts", "none,low,high",
            "--budgets", "12", "--out", str(tmp_path / "ev"), "--json"]
    assert main([*argv, "--model", str(effort_checkpoint)]) == 0
    assert seen == [{"<|bos|>"}, {"<|bos|><|system|>Reasoning: low<|end|>"},
                    {"<|bos|><|system|>Reasoning: high<|end|>"}, {"<|bos|>"}]
    rows = {r["effort"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert {e: r["stated_effort"] for e, r in rows.items()} == {"none": None, "low": "low", "high": "high",
                                                                  "budget=12": None}
    assert "low, high stated as `Reasoning: <effort>`" in (tmp_path / "ev" / "report.md").read_text()
    seen.clear()
    assert main([*argv, "--model", str(tiny_checkpoint)]) == 0  # a model not trained to read it: plain prompts
    assert seen == [{"<|bos|>"}] * 4
    assert all(r["stated_effort"] is None for r in json.loads(capsys.readouterr().out)["results"])
    assert "Reasoning" not in (tmp_path / "ev" / "report.md").read_text()


def test_ask_states_the_effort_unless_a_budget_is_given(effort_checkpoint, monkeypatch):
    import ponder.ask as ask_module

    seen = _recording(monkeypatch, ask_module)
    ask_module.ask("What is 2 + 3?", model=str(effort_checkpoint), effort="medium")
    ask_module.ask("What is 2 + 3?", model=str(effort_checkpoint), effort="medium", budget=10)
    assert seen == [{"<|bos|><|system|>Reasoning: medium<|end|>"}, {"<|bos|>"}]


def test_serve_states_the_requested_effort(effort_checkpoint, monkeypatch):
    from fastapi.testclient import TestClient

    from ponder.serve.app import create_app
    from ponder.serve.batcher import Batcher

    seen = []
    real_submit = Batcher.submit

    def record(self, prompt, params):
        seen.append(self.tokenizer.decode(prompt).split("<|user|>")[0])
        return real_submit(self, prompt, params)

    monkeypatch.setattr(Batcher, "submit", record)
    with TestClient(create_app(str(effort_checkpoint))) as client:
        body = {"model": "tiny", "messages": [{"role": "user", "content": "What is 2 + 3?"}]}
        for extra in ({"reasoning_effort": "low"}, {"reasoning_effort": "minimal"}, {"thinking_budget": 5}, {}):
            assert client.post("/v1/chat/completions", json={**body, **extra}).status_code == 200
    assert seen == ["<|bos|><|system|>Reasoning: low<|end|>", "<|bos|><|system|>Reasoning: low<|end|>",
                    "<|bos|>", "<|bos|><|system|>Reasoning: high<|end|>"]
