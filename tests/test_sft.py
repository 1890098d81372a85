import json
import random
import re
from dataclasses import asdict, replace

import pytest
import torch

from ponder.tasks import get_task
from ponder.train.data import IGNORE, make_example
from ponder.train.sft import SFTConfig, run_sft


def test_example_learns_only_assistant_tokens_and_not_slips(tokenizer):
    task = get_task("countdown")
    problem = task.sample_many(0, 5, 1, split="train")[0]
    ex = make_example(tokenizer, task, problem, random.Random(0), direct=False, slip_rate=0.5)
    assert len(ex.input_ids) == len(ex.labels)
    prompt_len = ex.input_ids.index(tokenizer.convert_tokens_to_ids("<|assistant|>")) + 1
    assert all(label == IGNORE for label in ex.labels[:prompt_len + 1])  # prompt and the forced <think>
    learned = tokenizer.decode([t for t in ex.labels if t != IGNORE])
    full = tokenizer.decode(ex.input_ids[prompt_len:])
    assert "Wait" in learned and learned != full.replace("<think>", ""), "slips must be masked out"
    spans = task.trace_spans(problem, random.Random(0), 0.5)
    assert learned.endswith(task.answer_from_trace(problem, "".join(s.text for s in spans)) + "<|end|>")
    for slip in (s.text for s in spans if not s.learn):
        assert slip in full


def test_caught_repeats_mask_the_repeat_and_learn_the_catch(tokenizer):
    task = get_task("countdown")
    problem = next(p for p in task.sample_many(0, 4, 20, split="train") if "back to" in task.trace(p))
    ex = make_example(tokenizer, task, problem, random.Random(0), direct=False, slip_rate=0.0, catch_rate=1.0)
    full = tokenizer.decode(ex.input_ids)
    learned = tokenizer.decode([t for t in ex.labels if t != IGNORE])
    repeats = re.findall(r"try (\d+[-+*/]\d+) Wait, no\n", full)
    assert repeats and learned.count("try  Wait, no\n") == len(repeats)  # the move masked, `try` and the catch not
    plain = make_example(tokenizer, task, problem, random.Random(0), direct=False, slip_rate=0.0)
    assert "Wait, no" not in tokenizer.decode(plain.input_ids)


def test_plans_are_a_flag_of_the_recipe():
    cfg = SFTConfig(countdown_plans=True, catch_rate=0.25)
    assert "--countdown-plans" in cfg.command() and "--catch-rate 0.25" in cfg.command()
    assert "--countdown-plans" not in SFTConfig().command()


def test_direct_examples_have_empty_thinking(tokenizer):
    task = get_task("arithmetic")
    problem = task.sample_many(0, 1, 1, split="train")[0]
    ex = make_example(tokenizer, task, problem, random.Random(0), direct=True, slip_rate=0.0)
    text = tokenizer.decode(ex.input_ids)
    assert text.endswith(f"<think></think>{problem.answer}<|end|>")


def test_cut_examples_answer_directly_and_never_learn_to_stop(tokenizer):
    task = get_task("countdown")
    problem = task.sample_many(0, 4, 1, split="train")[0]
    cut = make_example(tokenizer, task, problem, random.Random(1), direct=False, slip_rate=0.0, cut=True)
    full = make_example(tokenizer, task, problem, random.Random(1), direct=False, slip_rate=0.0)
    end_think = tokenizer.convert_tokens_to_ids("</think>")
    k, k_full = cut.input_ids.index(end_think), full.input_ids.index(end_think)
    assert cut.labels[k] == IGNORE and full.labels[k_full] == end_think  # the forced </think> is not learned
    assert tokenizer.decode(cut.input_ids[k + 1:]) == problem.answer + "<|end|>"
    assert k < k_full and tokenizer.decode(full.input_ids[:k_full]).startswith(tokenizer.decode(cut.input_ids[:k]))


def _tiny(tmp_path, steps):
    return SFTConfig(out=str(tmp_path / "run"), size="test", steps=steps, batch_tokens=2048, max_len=256,
                     short_rows=(128,), pool=64, eval_every=0, save_every=2, warmup=1, bf16=False)


def test_sft_trains_and_resumes(tmp_path):
    cfg = _tiny(tmp_path, 3)
    final = run_sft(cfg, log=lambda m: None)
    assert (final / "model.safetensors").exists()
    state = torch.load(tmp_path / "run" / "last" / "training_state.pt", weights_only=False)
    assert state["step"] == 3
    longer = replace(cfg, steps=5)
    with pytest.raises(ValueError, match="another config"):
        run_sft(longer, resume=True, log=lambda m: None)


def test_resume_continues_where_it_stopped(tmp_path, interrupt_after_save):
    import ponder.train.sft as sft

    straight = run_sft(replace(_tiny(tmp_path, 4), out=str(tmp_path / "a")), log=lambda m: None)
    cfg = replace(_tiny(tmp_path, 4), out=str(tmp_path / "b"))
    interrupt_after_save(sft, 1)  # killed right after its step-2 checkpoint
    with pytest.raises(KeyboardInterrupt):
        run_sft(cfg, log=lambda m: None)
    resumed = run_sft(cfg, resume=True, log=lambda m: None)
    from safetensors.torch import load_file

    a, b = load_file(straight / "model.safetensors"), load_file(resumed / "model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


@pytest.mark.parametrize("kwargs", [{"steps": 0}, {"lr": -1.0}, {"tasks": ("nope",)}, {"size": "huge"},
                                    {"level_weights": (1, 1)}, {"direct_frac": 2.0},
                                    {"short_rows": (700,)}, {"short_rows": (0,)}, {"countdown_guide": -0.1},
                                    {"unlikelihood": -1.0}, {"init": "no-such-model"},
                                    {"catch_rate": 1.5}, {"countdown_flat": True, "countdown_prune": True},
                                    {"task_weights": (1.0,)}, {"task_weights": (0.0, 0.0)},
                                    {"task_weights": (-1.0, 2.0)},
                                    {"effort_weights": (1.0, 2.0, 1.0, 2.0)},
                                    {"effort_prompts": True, "effort_weights": (1.0, 1.0)},
                                    {"effort_prompts": True, "effort_weights": (0.0, 0.0, 0.0, 0.0)}])
def test_bad_configs_are_refused(kwargs):
    with pytest.raises(ValueError):
        SFTConfig(**kwargs)


def test_packed_rows_compute_what_separate_rows_do(tokenizer):
    from transformers import LlamaForCausalLM

    from ponder.model.config import model_config
    from ponder.train.data import collate_packed, pack

    torch.manual_seed(0)
    model = LlamaForCausalLM(model_config("test", len(tokenizer), 1, 2, 0)).eval()
    rng = random.Random(0)
    examples = [make_example(tokenizer, get_task(name), get_task(name).sample(rng, level), rng, False, 0.0)
                for name, level in (("arithmetic", 1), ("countdown", 1), ("arithmetic", 2))]
    rows = pack(examples, 400)
    assert len(rows) < len(examples) and sum(len(r) for r in rows) == len(examples)
    batch = collate_packed(rows, tokenizer.pad_token_id)
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                       attention_mask=batch["attention_mask"]).logits
        for i, row in enumerate(rows):
            start = 0
            for ex in row:
                alone = model(torch.tensor([ex.input_ids])).logits[0]
                n = len(ex.input_ids)
                assert torch.allclose(packed[i, start:start + n], alone, atol=1e-4)
                start += n


def test_held_out_accuracy_covers_every_task_and_level(tiny_model):
    from ponder.train.evaluate import held_out_accuracy

    model, tok, _ = tiny_model
    acc = held_out_accuracy(model, tok, ("arithmetic", "countdown"), n=1, seed=0, max_thinking=4)
    assert sorted(acc) == sorted(f"{t}:{lvl}" for t in ("arithmetic", "countdown") for lvl in range(1, 6))
    assert all(0.0 <= v <= 1.0 for v in acc.values())


def test_a_step_in_width_micro_batches_has_the_gradient_of_one_padded_batch(tokenizer):
    from transformers import LlamaForCausalLM

    from ponder.model.config import model_config
    from ponder.train.data import collate_packed, pack, pack_by_width
    from ponder.train.sft import _train_step

    torch.manual_seed(0)
    model = LlamaForCausalLM(model_config("test", len(tokenizer), 1, 2, 0))
    rng = random.Random(3)
    examples = [make_example(tokenizer, get_task(name), get_task(name).sample(rng, level), rng, direct, 0.0)
                for name, level, direct in (("arithmetic", 1, True), ("countdown", 1, False),
                                            ("arithmetic", 5, False), ("countdown", 3, False))]
    micro = [collate_packed(rows, tokenizer.pad_token_id) for rows in pack_by_width(examples, (64, 128, 512))]
    assert len(micro) >= 2, "the examples should span several widths"
    loss, _ = _train_step(model, micro, bf16=False)
    split = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    whole = model(**collate_packed(pack(examples, 512), tokenizer.pad_token_id)).loss
    whole.backward()
    assert loss == pytest.approx(whole.item(), rel=1e-5)
    assert all(torch.allclose(split[n], p.grad, atol=1e-6) for n, p in model.named_parameters())


def test_steps_hold_at_most_their_budget_and_drop_the_partial_tail(tokenizer):
    from ponder.train.data import Example, step_groups

    examples = [Example([0] * n, [0] * n) for n in (5, 4, 3, 6, 2, 7, 8)]
    groups = step_groups(examples, 10)
    assert [[len(e.input_ids) for e in g] for g in groups] == [[5, 4], [3, 6], [2, 7]]  # [8] is the tail


def test_rows_wider_than_every_width_are_refused(tokenizer):
    from ponder.train.data import Example, pack_by_width

    with pytest.raises(ValueError, match="does not fit"):
        pack_by_width([Example([0] * 9, [0] * 9)], (4, 8))


def test_init_continues_a_checkpoint_and_the_recipe_reproduces_the_flags(tmp_path):
    from safetensors.torch import load_file

    first = run_sft(replace(_tiny(tmp_path, 2), out=str(tmp_path / "a")), log=lambda m: None)
    first_meta = json.loads((first / "ponder.json").read_text())
    efforts = {"none": 0, "low": 11, "medium": 22, "high": 1900}  # as a shipped model's, not the defaults
    (first / "ponder.json").write_text(json.dumps({**first_meta, "efforts": efforts}))
    cfg = replace(_tiny(tmp_path, 2), out=str(tmp_path / "b"), init=str(first), countdown_guide=0.0, lr=5e-4)
    second = run_sft(cfg, log=lambda m: None)
    a, b = load_file(first / "model.safetensors"), load_file(second / "model.safetensors")
    assert a.keys() == b.keys() and any(not torch.equal(a[k], b[k]) for k in a)
    meta = json.loads((second / "ponder.json").read_text())
    assert meta["parent"] == str(first)
    assert meta["efforts"] == efforts  # the budgets its searches were trained to go with the weights
    command = meta["recipe"]["command"]
    assert f"--init {first}" in command and "--countdown-guide 0.0" in command and "--lr 0.0005" in command
    assert "--short-rows 128" in command and "--no-bf16" in command and "--seed" not in command


def test_init_at_a_wider_max_len_widens_the_context_it_was_trained_to(tmp_path):
    first = run_sft(replace(_tiny(tmp_path, 1), out=str(tmp_path / "a")), log=lambda m: None)
    config = json.loads((first / "config.json").read_text())
    (first / "config.json").write_text(json.dumps({**config, "max_position_embeddings": 128}))  # narrower than 256
    lines = []
    second = run_sft(replace(_tiny(tmp_path, 1), out=str(tmp_path / "b"), init=str(first)), log=lines.append)
    assert json.loads((second / "config.json").read_text())["max_position_embeddings"] == 256
    assert "context widened from 128 to 256 tokens" in lines
    third = run_sft(replace(_tiny(tmp_path, 1), out=str(tmp_path / "c"), init=str(second), max_len=200,
                            short_rows=(100,)), log=lambda m: None)
    assert json.loads((third / "config.json").read_text())["max_position_embeddings"] == 256  # never narrowed


def test_a_run_resumes_after_options_were_added_at_their_defaults(tmp_path):
    from ponder.train.sft import _config_changes

    cfg = _tiny(tmp_path, 2)
    saved = {k: v for k, v in asdict(cfg).items() if k not in ("init", "countdown_guide")}  # an older run's config
    assert _config_changes(saved, cfg) == []
    assert _config_changes(saved, replace(cfg, countdown_guide=0.0)) == ["countdown_guide"]


@pytest.mark.parametrize("spaced", [False, True])
def test_avoided_tokens_sit_on_learned_positions_and_differ_from_the_label(request, spaced):
    tokenizer = request.getfixturevalue("spaced_tokenizer" if spaced else "tokenizer")
    task = get_task("countdown")
    rng = random.Random(4)
    examples = [make_example(tokenizer, task, p, rng, direct=False, slip_rate=0.04)
                for p in task.sample_many(2, 4, 30, split="train")]
    pairs = [(ex, pos, tid) for ex in examples for pos, tid in ex.avoid]
    assert len(pairs) > 20
    for ex, pos, tid in pairs:
        assert ex.labels[pos] != IGNORE and ex.labels[pos] != tid
        # the place is a move's number or operator, right after `try ` (`try` before a space-prefixed ` 13`), a
        # number or an operator
        assert tokenizer.decode([ex.input_ids[pos - 1]]) in {"try" if spaced else " ", "+", "-", "*", "/"} or \
            tokenizer.decode([ex.input_ids[pos - 1]]).lstrip().isdigit()
    direct = make_example(tokenizer, task, task.sample_many(2, 4, 1, split="train")[0], rng, True, 0.0)
    assert direct.avoid == ()


def test_unlikelihood_adds_minus_log_one_minus_p_of_each_avoided_token(tokenizer):
    from transformers import LlamaForCausalLM

    from ponder.model.config import model_config
    from ponder.train.data import avoid_index, collate_packed, pack
    from ponder.train.sft import _train_step

    task = get_task("countdown")
    rng = random.Random(5)
    examples = [make_example(tokenizer, task, p, rng, direct=False, slip_rate=0.0)
                for p in task.sample_many(1, 3, 12, split="train")]
    rows = pack([e for e in examples if len(e.input_ids) <= 512], 512)
    batch, avoid = collate_packed(rows, tokenizer.pad_token_id), avoid_index(rows)
    assert len(avoid) > 0 and avoid.shape[1] == 3
    torch.manual_seed(0)
    model = LlamaForCausalLM(model_config("test", len(tokenizer), 1, 2, 0))
    loss, [(p_sum, count)] = _train_step(model, [batch], bf16=False, avoid=[avoid], unlikelihood=2.0)
    got = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    n_learned = int((batch["labels"][:, 1:] != IGNORE).sum())
    out = model(**batch, num_items_in_batch=n_learned)
    probs = torch.stack([out.logits[r, t - 1].softmax(-1)[tok] for r, t, tok in avoid.tolist()])
    (out.loss - 2.0 * torch.log(1 - probs).sum() / n_learned).backward()
    assert loss == pytest.approx(out.loss.item(), rel=1e-5) and count == len(avoid)
    assert p_sum == pytest.approx(probs.sum().item(), rel=1e-4)
    assert all(torch.allclose(got[n], p.grad, atol=1e-6) for n, p in model.named_parameters())
    model.zero_grad()
    _train_step(model, [batch], bf16=False, avoid=[avoid], unlikelihood=0.0)
    assert not all(torch.allclose(got[n], p.grad, atol=1e-6) for n, p in model.named_parameters())


def test_a_repeat_example_avoids_the_token_that_first_repeats_a_move(tokenizer):
    from ponder.tasks import Problem
    from ponder.train.own_repeats import repeat_example

    task = get_task("countdown")
    problem = Problem("countdown", 2, "Using the numbers 10, 1, 3, make 20. Use each number at most once, with + - * "
                      "/ and parentheses.", "10*(3-1)", {"numbers": [10, 1, 3], "target": 20, "rule": "some"})
    thinking = ("goal 20 some 10 1 3\ntry 10+1=11 vs 20 no left 3 11\ntry 11+3=14 vs 20 no\nback to 10 1 3\n"
                "try 10+3=13 vs 20 no left 1 13\ntry 13+1=14 vs 20 no\nback to 10 1 3\ntry 10+1=11 vs 20 no")
    # 10+1 and 10+3 are searched: `10+` leads only to repeats, so `+` is the first token to avoid
    offset, token = task.first_repeat(problem, thinking)
    assert token == "+" and thinking[:offset].endswith("back to 10 1 3\ntry 10")
    ex = repeat_example(tokenizer, task, problem, thinking)
    assert all(label == IGNORE for label in ex.labels)  # nothing of the model's own text is learned
    (pos, tid), = ex.avoid
    assert pos == len(ex.input_ids) - 1 and tokenizer.decode([tid]) == "+"
    assert tokenizer.decode(ex.input_ids[:pos]).endswith("<think>" + thinking[:offset])
    assert task.first_repeat(problem, thinking.replace("back to 10 1 3\ntry 10+1", "back to 10 1 3\ntry 3-1")) is None
    # a made-up state ends the replay: nothing after it counts as a repeat
    assert task.first_repeat(problem, thinking.replace("back to 10 1 3\ntry 10+3", "back to 9 9\ntry 9+9")) is None
    assert get_task("arithmetic").first_repeat(problem, thinking) is None


def test_own_repeats_join_every_step_of_their_round_and_are_logged(tmp_path, tokenizer, monkeypatch):
    import ponder.train.sft as sft
    from ponder.tasks import Problem
    from ponder.train.own_repeats import repeat_example

    problem = Problem("countdown", 2, "Using the numbers 10, 1, 3, make 20. Use each number at most once, with + - * "
                      "/ and parentheses.", "10*(3-1)", {"numbers": [10, 1, 3], "target": 20, "rule": "some"})
    thinking = "goal 20 some 10 1 3\ntry 10+1=11 vs 20 no left 3 11\ntry 11+3=14 vs 20 no\nback to 10 1 3\ntry 10+1=11"
    rounds = []

    def fake_own(model, tok, task, rng, n, weights, max_len):
        rounds.append(n)
        return [repeat_example(tok, task, problem, thinking)]

    monkeypatch.setattr(sft, "own_repeat_examples", fake_own)
    cfg = replace(_tiny(tmp_path, 4), unlikelihood=1.0, repeat_every=2, repeat_problems=4)
    run_sft(cfg, log=lambda m: None)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rounds == [4, 4] and [r.get("own_repeats") for r in rows] == [0.25, None, 0.25, None]
    assert all(0.0 < r["own_avoid_p"] < 1.0 for r in rows)
    with pytest.raises(ValueError, match="repeat_every needs"):
        replace(cfg, unlikelihood=0.0)


def test_init_from_a_checkpoint_of_the_other_tokenizer_kind_is_refused_with_the_flag_to_change(tmp_path,
                                                                                              tiny_checkpoint):
    cfg = replace(_tiny(tmp_path, 1), init=str(tiny_checkpoint), space_prefixed=True)
    with pytest.raises(ValueError, match="plain tokens: drop --space-prefixed"):
        run_sft(cfg, log=lambda m: None)
    assert not (tmp_path / "run").exists()


def test_task_weights_skew_the_mix(tokenizer):
    from ponder.train.sft import _pool_steps

    def arithmetic_share(cfg):
        examples = [ex for step in _pool_steps(cfg, tokenizer, 0) for rows in step for row in rows for ex in row]
        return sum("What is" in tokenizer.decode(ex.input_ids) for ex in examples) / len(examples)

    base = dict(size="test", max_len=640, batch_tokens=2048, pool=200, seed=2)
    assert arithmetic_share(SFTConfig(**base, task_weights=(4.0, 1.0))) > 0.7
    assert arithmetic_share(SFTConfig(**base, task_weights=(0.0, 1.0))) == 0
    assert "--task-weights 4.0,1.0" in SFTConfig(**base, task_weights=(4.0, 1.0)).command()


def test_effort_weights_skew_the_efforts_stated(tokenizer):
    from ponder.train.sft import _pool_steps

    def shares(cfg):
        examples = [ex for step in _pool_steps(cfg, tokenizer, 0) for rows in step for row in rows for ex in row]
        texts = [tokenizer.decode(ex.input_ids) for ex in examples]
        return {e: sum(f"Reasoning: {e}" in t for t in texts) / len(texts) for e in ("low", "medium", "high")}

    base = dict(size="test", max_len=640, batch_tokens=2048, pool=300, seed=2, effort_prompts=True)
    skewed = shares(SFTConfig(**base, effort_weights=(1.0, 4.0, 1.0, 0.0)))
    assert skewed["low"] > 0.45 and skewed["high"] == 0
    equal = shares(SFTConfig(**base))
    assert 0.15 < equal["low"] < 0.35 and equal["high"] > 0.15
    assert "--effort-weights 1.0,4.0,1.0,0.0" in SFTConfig(**base, effort_weights=(1.0, 4.0, 1.0, 0.0)).command()


def test_level_weights_skew_the_levels_drawn_and_are_a_flag(tokenizer, monkeypatch, capsys):
    import ponder.train.sft as sft
    from ponder.cli import main
    from ponder.tasks.arithmetic import ArithmeticTask

    drawn = []
    real = ArithmeticTask.sample_split
    monkeypatch.setattr(ArithmeticTask, "sample_split",
                        lambda self, rng, level, split: drawn.append(level) or real(self, rng, level, split))
    base = dict(size="test", max_len=640, batch_tokens=2048, pool=60, seed=2, tasks=("arithmetic",))
    sft._pool_steps(SFTConfig(**base, level_weights=(0.0, 1.0, 0.0, 0.0, 3.0)), tokenizer, 0)
    assert set(drawn) == {2, 5} and drawn.count(5) > drawn.count(2)
    assert "--level-weights 1.0,2.0,1.5,2.0,2.5" in SFTConfig(**base, level_weights=(1.0, 2.0, 1.5, 2.0, 2.5)).command()
    assert "--level-weights" not in SFTConfig(**base).command(), "the default draw is the recipe every stage had"

    seen = []
    monkeypatch.setattr(sft, "run_sft", lambda cfg, resume, log: seen.append(cfg.level_weights) or "done")
    assert main(["train", "sft", "--out", "unused", "--level-weights", "1,2,1.5,2,2.5"]) == 0
    assert main(["train", "sft", "--out", "unused"]) == 0
    assert seen == [(1.0, 2.0, 1.5, 2.0, 2.5), SFTConfig().level_weights]
    assert main(["train", "sft", "--out", "unused", "--level-weights", "1,2"]) != 0
    assert "level_weights needs five" in capsys.readouterr().err
