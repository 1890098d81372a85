"""A vote over rechecked passes (GenerationParams.vote): each pass's answer is written out of sight, as a ballot,
and the answer is what most passes answer (a tie goes to the earliest pass)."""

import json

import pytest
import torch

from ponder.engine import Completion, GenerationParams, generate
from ponder.model.checkpoint import PONDER_JSON, PonderMeta
from ponder.recheck import RECHECK_TEXT
from ponder.train.data import prompt_ids


class Ballots(torch.nn.Module):
    """Wraps a model (one row) so that it ends its thinking at once and, after its j-th `</think>`, answers
    `answers[j]` then stops: passes whose answers a test chooses."""

    def __init__(self, model, tok, answers: list[str]):
        super().__init__()
        self.model, self.answers = model, [tok.encode(a, add_special_tokens=False) for a in answers]
        self.end, self.eos = tok.convert_tokens_to_ids("</think>"), tok.eos_token_id
        self.fed: list[int] = []

    def forward(self, input_ids, **kwargs):
        out = self.model(input_ids=input_ids, **kwargs)
        self.fed += input_ids[0].tolist()
        ends = self.fed.count(self.end)
        after = self.fed[len(self.fed) - self.fed[::-1].index(self.end):] if ends else None
        if after is None or self.fed[-1] not in (self.end, *sum(self.answers, [])):
            want = self.end  # thinking: end it at once
        else:
            answer = self.answers[min(ends, len(self.answers)) - 1]
            want = answer[len(after)] if len(after) < len(answer) else self.eos
        out.logits[0, -1, want] += 100.0
        return out


def _run(model, tok, params, **kw):
    return generate(model, tok, [prompt_ids(tok, "What is 2 + 3?")], params, **kw)[0]


@pytest.mark.parametrize(("answers", "voted"), [(["7", "9", "9"], "9"), (["5", "5", "8"], "5"),
                                                (["7", "9", "8"], "7"), (["7", "9"], "7")])
def test_the_answer_is_what_most_passes_answer_and_a_tie_goes_to_the_earliest(tiny_model, answers, voted):
    model, tok, _ = tiny_model
    params = GenerationParams(max_thinking=40, answer_budget=4, rechecks=len(answers) - 1, vote=True)
    streamed = []
    c = _run(Ballots(model, tok, answers), tok, params, on_token=lambda _r, t, _f: streamed.append(t))
    assert c.pass_answers == answers and c.answer == voted
    assert c.thinking == RECHECK_TEXT * (len(answers) - 1)
    # ballots are out of sight: one `</think>` in what is returned and streamed, and the voted answer is forced
    end = tok.convert_tokens_to_ids("</think>")
    assert c.token_ids.count(end) == 1 and streamed == c.token_ids
    assert all(m == 0 for m in c.mask[c.token_ids.index(end):])
    assert c.answer_tokens == len(tok.encode(voted, add_special_tokens=False)) and c.finish_reason == "stop"


def test_without_the_vote_the_last_pass_answers(tiny_model):
    model, tok, _ = tiny_model
    c = _run(Ballots(model, tok, ["7", "9", "8"]), tok, GenerationParams(max_thinking=40, answer_budget=4,
                                                                        rechecks=2))
    assert c.answer == "7" and c.pass_answers == [], "unvoted, the model answers once, after its last pass"


class Passes(torch.nn.Module):
    """Wraps a model (one row) so that each pass of its thinking is `every` tokens of its own choosing: it may not
    end its thinking before, and must then. What it thinks and answers is the model's, so it depends on all it sees."""

    def __init__(self, model, tok, every: int):
        super().__init__()
        self.model, self.every = model, every
        self.end, self.eos = tok.convert_tokens_to_ids("</think>"), tok.eos_token_id
        self.think = tok.convert_tokens_to_ids("<think>")
        self.starts = {self.think, tok.encode(RECHECK_TEXT, add_special_tokens=False)[-1]}
        self.since: int | None = None  # tokens fed since the pass began; None while answering

    def forward(self, input_ids, **kwargs):
        out = self.model(input_ids=input_ids, **kwargs)
        self.position = kwargs["position_ids"][0, -1].item()
        last = input_ids[0, -1].item()
        self.since = 0 if last in self.starts else None if last == self.end or self.since is None else self.since + 1
        logits = out.logits[0, -1]
        logits[list(self.starts)] -= 100.0  # only the engine begins a pass
        if self.since is None:
            logits[self.end] -= 100.0  # an answer in words
        else:
            logits[self.end] += 100.0 if self.since >= self.every else -100.0
            logits[self.eos] -= 100.0
        return out


def test_a_ballot_leaves_no_trace_in_what_the_model_sees_next(tiny_model):
    """Each ballot's answer is the answer the model gives when its thinking ends after that pass, and the thinking
    after a ballot is the thinking without one: its cache columns are hidden and its positions reused."""
    model, tok, _ = tiny_model

    def params(n, vote=False):
        return GenerationParams(max_thinking=60, answer_budget=3, rechecks=n, vote=vote)

    plain = [_run(Passes(model, tok, 6), tok, params(n)) for n in range(3)]
    wrapped = Passes(model, tok, 6)
    voted = _run(wrapped, tok, params(2, vote=True))
    assert any(c.answer for c in plain) and plain[2].thinking_tokens > 2 * 6
    assert voted.pass_answers == [c.answer for c in plain]
    assert voted.thinking == plain[2].thinking
    prompt = prompt_ids(tok, "What is 2 + 3?")
    assert wrapped.position == len(prompt) + len(voted.token_ids) - 2, "the last token fed sits right after the rest"


def test_a_ballot_is_hidden_from_its_own_row_only(tiny_model):
    model, tok, _ = tiny_model
    from tests.test_recheck import Paced  # ends its thinking every 9 forwards: the same steps for every row

    end = tok.convert_tokens_to_ids("</think>")
    prompts = [prompt_ids(tok, "What is 2 + 3?"), prompt_ids(tok, "What is 482 * 317?")]
    vote, plain = (GenerationParams(max_thinking=60, answer_budget=3, rechecks=2, vote=v) for v in (True, False))
    both = generate(Paced(model, end, 9), tok, prompts, [plain, vote])
    alone = [generate(Paced(model, end, 9), tok, [p], q)[0] for p, q in zip(prompts, (plain, vote), strict=True)]
    assert len(both[1].pass_answers) == 3
    assert [c.token_ids for c in both] == [c.token_ids for c in alone]
    assert both[1].pass_answers == alone[1].pass_answers


def test_no_recheck_means_no_ballot(tiny_model):
    model, tok, _ = tiny_model
    c = _run(Ballots(model, tok, ["7"]), tok, GenerationParams(max_thinking=40, answer_budget=4, vote=True))
    assert c.answer == "7" and c.pass_answers == []


@pytest.fixture(scope="module")
def vote_checkpoint(tmp_path_factory, make_checkpoint):
    folder = make_checkpoint(tmp_path_factory.mktemp("vote") / "tiny")
    meta = PonderMeta.load(folder)
    meta.rechecks, meta.recheck_vote = {"medium": 1, "high": 2}, True
    (folder / PONDER_JSON).write_text(json.dumps(meta.to_dict()))
    return folder


def test_eval_ask_and_serve_vote_where_the_checkpoint_says(vote_checkpoint, tmp_path, monkeypatch, capsys):
    import ponder.ask as ask_module
    import ponder.eval.grid as grid
    from ponder.cli import main

    assert PonderMeta.load(vote_checkpoint).recheck_vote and not PonderMeta().recheck_vote
    seen = []

    def recording(module):
        real = module.generate

        def record(model, tokenizer, prompts, params, **kw):
            seen.append({(p.rechecks, p.vote) for p in ([params] if isinstance(params, GenerationParams) else params)})
            return real(model, tokenizer, prompts, params, **kw)

        monkeypatch.setattr(module, "generate", record)

    recording(grid)
    argv = ["eval", "--model", str(vote_checkpoint), "--tasks", "arithmetic", "--levels", "1", "--n", "2",
            "--efforts", "low,high", "--out", str(tmp_path / "ev"), "--json"]
    assert main(argv) == 0
    assert seen == [{(0, True)}, {(2, True)}]  # a vote with no recheck is one pass, answered as it is
    rows = json.loads(capsys.readouterr().out)["results"]
    assert [(r["rechecks"], r["vote"]) for r in rows] == [(0, False), (2, True)]

    def voted(model, tokenizer, prompts, params, **kw):
        return [Completion([], [], "t", "9", 1, 1, "stop", 0.1, pass_answers=["7", "9", "9"])]

    monkeypatch.setattr(ask_module, "generate", voted)
    assert main(["ask", "What is 2 + 7?", "--model", str(vote_checkpoint)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "9" and "[passes answered '7', '9', '9': the reply is their vote" in err
    assert ask_module.ask("What is 2 + 7?", model=str(vote_checkpoint)).pass_answers == ["7", "9", "9"]

    from fastapi.testclient import TestClient

    from ponder.serve.app import create_app
    from ponder.serve.batcher import Batcher

    submitted = []
    real_submit = Batcher.submit

    def record_submit(self, prompt, params):
        submitted.append((params.rechecks, params.vote))
        return real_submit(self, prompt, params)

    monkeypatch.setattr(Batcher, "submit", record_submit)
    with TestClient(create_app(str(vote_checkpoint))) as client:
        body = {"model": "tiny", "messages": [{"role": "user", "content": "What is 2 + 3?"}],
                "reasoning_effort": "high"}
        assert client.post("/v1/chat/completions", json=body).status_code == 200
    assert submitted == [(2, True)]
