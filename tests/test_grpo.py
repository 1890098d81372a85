from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file

import ponder.train.grpo as grpo
from ponder.train.grpo import GRPOConfig, run_grpo


def _cfg(tiny_checkpoint, out, steps=3):
    return GRPOConfig(init=str(tiny_checkpoint), out=str(out), steps=steps, prompts=2, group=3, lr=1e-3,
                      max_thinking=12, answer_budget=4, overlong_buffer=4, dynamic_sampling=False, save_every=1,
                      eval_every=0, bf16=False, beta=0.05, updates=2,
                      # a random model is never right: shaping terms give the rewards a spread to learn from
                      format_weight=0.1, process_weight=0.1, overlong_weight=1.0)


def test_three_steps_change_the_weights_and_log(tiny_checkpoint, tmp_path):
    final = run_grpo(_cfg(tiny_checkpoint, tmp_path / "run"), log=lambda m: None)
    before, after = load_file(tiny_checkpoint / "model.safetensors"), load_file(final / "model.safetensors")
    assert any(not torch.equal(before[k], after[k]) for k in before)
    rows = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == 3 and '"reward"' in rows[0] and '"kl"' in rows[0]


def test_a_killed_run_resumes_and_continues_as_it_would_have(tiny_checkpoint, tmp_path, interrupt_after_save):
    straight = run_grpo(_cfg(tiny_checkpoint, tmp_path / "a"), log=lambda m: None)
    cfg = _cfg(tiny_checkpoint, tmp_path / "b")
    interrupt_after_save(grpo, 2)  # stands for SIGKILL right after the second checkpoint
    with pytest.raises(KeyboardInterrupt):
        run_grpo(cfg, log=lambda m: None)
    resumed = run_grpo(cfg, resume=True, log=lambda m: None)
    a, b = load_file(straight / "model.safetensors"), load_file(resumed / "model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_forced_tokens_carry_no_gradient(tiny_checkpoint):
    from ponder.engine import GenerationParams, generate
    from ponder.model.checkpoint import load_checkpoint
    from ponder.train.data import prompt_ids

    model, tok, _, _ = load_checkpoint(tiny_checkpoint)
    prompts = [prompt_ids(tok, "What is 2 + 3?")]
    c = generate(model, tok, prompts, GenerationParams(max_thinking=3, answer_budget=2))
    batch = grpo._batch(prompts, c, tok.pad_token_id)
    start = len(prompts[0]) - 1
    assert batch["loss_mask"][0, start:start + len(c[0].mask)].tolist() == [float(m) for m in c[0].mask]
    assert batch["loss_mask"][0, :start].sum() == 0 and c[0].mask[0] == 0  # the forced <think>


@pytest.mark.parametrize("kwargs", [{"group": 1}, {"lr": -1.0}, {"tasks": ("nope",)}, {"norm": "x"},
                                    {"curriculum": ((0, (9,)),)}, {"process_weight": -1.0},
                                    {"negative_weight": -0.5}, {"max_thinking": 0}, {"init": "no-such-model"}])
def test_impossible_configs_are_refused(kwargs):
    with pytest.raises(ValueError):
        GRPOConfig(**kwargs)


def test_the_sampling_budget_defaults_to_the_init_models_high_effort(tiny_checkpoint):
    assert GRPOConfig(init=str(tiny_checkpoint)).max_thinking == 32  # its ponder.json: high 32
    assert GRPOConfig(init=str(tiny_checkpoint), max_thinking=20).max_thinking == 20


def test_the_command_line_leaves_the_config_its_own_defaults(tiny_checkpoint, tmp_path):
    """`--anchor FILE` alone must switch the anchor on at its default weight (an earlier parser passed the weight a
    default config had resolved without a file, 0, and so turned it off), and --max-thinking follows --init."""
    from ponder.cli import build_parser, grpo_config
    from ponder.train.anchor import DEFAULT_WEIGHT

    parse = build_parser().parse_args
    anchor = _anchor_file(tmp_path / "s.jsonl")
    cfg = grpo_config(parse(["train", "grpo", "--init", str(tiny_checkpoint), "--anchor", anchor]))
    assert cfg.anchor_weight == DEFAULT_WEIGHT > 0 and cfg.max_thinking == 32
    assert grpo_config(parse(["train", "grpo", "--init", str(tiny_checkpoint)])).anchor_weight == 0.0
    cfg = grpo_config(parse(["train", "grpo", "--init", str(tiny_checkpoint), "--anchor", anchor,
                             "--anchor-weight", "0.25"]))
    assert cfg.anchor_weight == 0.25


def test_curriculum_moves_up():
    cfg = GRPOConfig()
    assert cfg.levels_at(0) == (3, 4, 5) and cfg.levels_at(79) == (3, 4, 5) and cfg.levels_at(500) == (4, 5)
    assert replace(cfg, curriculum=((0, (5,)),)).levels_at(3) == (5,)


def _write_lines(path, rows):
    import json

    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


def test_a_problems_file_gives_each_steps_problems_and_a_searches_file_its_failures(tmp_path):
    import json

    from ponder.tasks import get_task

    train = get_task("countdown").sample_many(1, 2, 6, split="train")
    rows = [json.loads(p.to_json()) for p in train[:3]]
    rows += [{"problem": json.loads(p.to_json()), "thinking": "", "answer": p.answer, "correct": i == 0}
             for i, p in enumerate(train[3:])]
    path = _write_lines(tmp_path / "problems.jsonl", rows)
    pool = grpo.load_problem_pool(path)
    assert list(pool) == train[:3] + train[4:]  # the search the model got right gives no problem
    cfg = GRPOConfig(problems_file=path, prompts=3)
    step0 = [p.prompt for p in grpo.step_problems(cfg, 0)]
    assert set(step0) <= {p.prompt for p in pool} and len(set(step0)) == 3
    assert step0 == [p.prompt for p in grpo.step_problems(cfg, 0)]
    assert len(grpo.step_problems(replace(cfg, prompts=9), 1)) == 9  # fewer problems than a step needs


def test_a_bad_problems_file_is_refused_with_its_line(tmp_path):
    import json

    from ponder.tasks import get_task

    task = get_task("arithmetic")
    good = json.loads(task.sample_many(1, 2, 1, split="train")[0].to_json())
    held_out = json.loads(task.sample_many(1, 2, 1, split="test")[0].to_json())
    for rows, needle in [([good, "{not json"], ":2: not a problem"),
                         ([good, {**good, "task": "nope"}], ":2: not a problem"),
                         ([{**good, "answer": "-1"}], ":1: its meta or answer do not match its prompt"),
                         ([{**good, "meta": {}}], ":1: its meta or answer do not match its prompt"),
                         ([held_out], ":1: a held-out test problem"),
                         ([{"problem": good, "thinking": "", "answer": "", "correct": True}], "no problems")]:
        with pytest.raises(ValueError, match=needle):
            grpo.load_problem_pool(_write_lines(tmp_path / f"bad{len(needle)}.jsonl", rows))
    with pytest.raises(ValueError, match="cannot read problems file"):
        GRPOConfig(problems_file=str(tmp_path / "missing.jsonl"))


def test_rewards_see_the_answer_without_the_end_of_turn_token(tokenizer):
    """The engine's token ids end with <|end|>; the verifier must judge the answer before it."""
    import random
    from types import SimpleNamespace

    from ponder.tasks import get_task

    problem = get_task("countdown").sample_split(random.Random(3), 2, "train")
    right = f"<think>check {problem.answer}</think>{problem.answer}"
    wrong = f"<think>try</think>{problem.answer}+1"
    completions = [SimpleNamespace(token_ids=tokenizer.encode(t, add_special_tokens=False)
                                   + [tokenizer.eos_token_id, tokenizer.pad_token_id], thinking_tokens=3)
                   for t in (right, wrong)]
    cfg = GRPOConfig(group=2, max_thinking=64)
    rewards, parts = grpo._rewards(cfg, [problem], completions, tokenizer)
    assert parts["accuracy"] == 0.5 and rewards[0, 0] > rewards[0, 1] + 0.9


def test_chunks_group_rows_by_length_within_the_token_limit():
    chunks = grpo._chunks([10, 300, 12, 290, 11], max_tokens=600)
    assert chunks == [[0, 4, 2], [3, 1]]
    assert grpo._chunks([700], max_tokens=600) == [[0]]  # a row longer than the limit still goes alone


@pytest.mark.parametrize("norm", ["token", "sequence"])
def test_micro_batches_give_the_gradient_of_the_whole_batch(tiny_checkpoint, norm):
    from ponder.engine import GenerationParams, generate
    from ponder.model.checkpoint import load_checkpoint
    from ponder.train.data import prompt_ids

    model, tok, _, _ = load_checkpoint(tiny_checkpoint)
    prompts = [prompt_ids(tok, q) for q in ("What is 2 + 3?", "What is 41 + 7?", "What is 5 * 6?")]
    params = [GenerationParams(max_thinking=n, answer_budget=3, temperature=1.0, seed=n) for n in (2, 9, 5)]
    completions = generate(model, tok, prompts, params)
    advantages = torch.tensor([1.0, -0.5, -0.5])
    grads = []
    for limit in (10_000, 1):  # one pass; one row per pass
        m, _, _, _ = load_checkpoint(tiny_checkpoint)
        cfg = GRPOConfig(bf16=False, micro_batch_tokens=limit, norm=norm)
        opt = torch.optim.SGD(m.parameters(), lr=0.0)  # keep the weights: compare the gradients
        grpo._update(cfg, m, None, opt, prompts, completions, advantages, tok.pad_token_id)
        grads.append([p.grad.clone() for p in m.parameters()])
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(*grads, strict=True))


def _anchor_file(path, split="train", correct=True):
    """A searches file whose searches are the solver's own traces of level-2 countdown problems."""
    import random

    from ponder.tasks import get_task
    from ponder.train.own_searches import Search

    task = get_task("countdown")
    searches = []
    for p in task.sample_many(1, 2, 4, split=split):
        text = "".join(s.text for s in task.trace_spans(p, random.Random(0), 0.0))
        searches.append(Search(p, text, task.answer_from_trace(p, text), correct))
    path.write_text("".join(s.to_json() + "\n" for s in searches))
    return str(path)


def test_the_anchor_loss_is_weighted_and_training_on_it_lowers_it(tiny_checkpoint, tmp_path):
    from ponder.model.checkpoint import load_checkpoint
    from ponder.train.anchor import anchor_backward, anchor_examples, anchor_loss, anchor_searches

    model, tok, _, _ = load_checkpoint(tiny_checkpoint)
    examples = anchor_examples(tok, anchor_searches(_anchor_file(tmp_path / "s.jsonl")))
    assert len(examples) == 4
    grads = []
    for weight in (1.0, 2.0):
        model.zero_grad(set_to_none=True)
        loss = anchor_backward(model, examples, weight, tok.pad_token_id, bf16=False)
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    assert torch.allclose(grads[1], 2 * grads[0], atol=1e-6)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(5):
        opt.zero_grad(set_to_none=True)
        anchor_backward(model, examples, 1.0, tok.pad_token_id, bf16=False)
        opt.step()
    with torch.no_grad():
        assert float(anchor_loss(model, examples, tok.pad_token_id, bf16=False)) < loss


def test_a_run_with_an_anchor_logs_it_and_trains_differently(tiny_checkpoint, tmp_path):
    import json

    anchor = _anchor_file(tmp_path / "s.jsonl")
    plain = run_grpo(_cfg(tiny_checkpoint, tmp_path / "plain", steps=2), log=lambda m: None)
    anchored = run_grpo(replace(_cfg(tiny_checkpoint, tmp_path / "anchored", steps=2), anchor_file=anchor,
                                anchor_weight=1.0, anchor_rows=2), log=lambda m: None)
    rows = [json.loads(r) for r in (tmp_path / "anchored" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["anchor_loss"] > 0 for r in rows)
    a, b = load_file(plain / "model.safetensors"), load_file(anchored / "model.safetensors")
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_a_bad_anchor_is_refused(tmp_path):
    with pytest.raises(ValueError, match="needs an anchor file"):
        GRPOConfig(anchor_weight=0.5)
    with pytest.raises(ValueError, match="no verified searches"):
        GRPOConfig(anchor_file=_anchor_file(tmp_path / "wrong.jsonl", correct=False), anchor_weight=0.5)
    with pytest.raises(ValueError, match="held-out test problem"):
        GRPOConfig(anchor_file=_anchor_file(tmp_path / "test.jsonl", split="test"), anchor_weight=0.5)
    with pytest.raises(ValueError, match="no searches file"):
        GRPOConfig(anchor_file=str(tmp_path / "missing.jsonl"), anchor_weight=0.5)
    with pytest.raises(ValueError, match="anchor weight must be"):
        GRPOConfig(anchor_weight=-1.0)


def test_an_anchor_file_without_a_weight_gets_the_default_one(tmp_path):
    from ponder.train.anchor import DEFAULT_WEIGHT

    assert GRPOConfig().anchor_weight == 0.0
    assert GRPOConfig(anchor_file=_anchor_file(tmp_path / "s.jsonl")).anchor_weight == DEFAULT_WEIGHT
    assert GRPOConfig(anchor_file=str(tmp_path / "s.jsonl"), anchor_weight=0.0).anchor_weight == 0.0
