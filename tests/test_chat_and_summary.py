import io

import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from ponder.ask import ask
from ponder.chat import run_chat
from ponder.engine import GenerationParams, generate
from ponder.engine.summary import gist, summary_line
from ponder.model.checkpoint import CheckpointError, PonderMeta, load_checkpoint, save_checkpoint
from ponder.train.data import prompt_ids


def test_gist_of_a_search_and_of_foreign_thinking():
    thinking = ("goal 24 all 3 5 8 13\ntry 13-5=8 left 3 8 8\ntry 8+8=17 Wait, 8+8=16 left 3 16\n"
                "try 16+3=19 vs 24 no\nback to 3 8 8\ntry 8*3=24 left 8 24\ncheck (13-5)*3: 13-5=8 8*3=24 vs 24 ok\n")
    assert gist(thinking) == "tried 4 moves, backed up 1 time, corrected 1 slip, final check ok"
    assert gist("Let me see. The user wants a poem. I will write it.") == "I will write it."
    assert gist("") == "answered without thinking"
    assert "cut by the thinking budget" in summary_line("x", 40, 1.0, True)


def test_chat_keeps_history_and_handles_commands(tiny_checkpoint, capsys):
    stdin = io.StringIO("What is 2 + 3?\n/effort none\nWhat is 4 + 4?\n/bogus\n/budget 3\nhi\n/exit\n")
    assert run_chat(str(tiny_checkpoint), "low", None, 0, 0.0, None, False, stdin=stdin) == 0
    err = capsys.readouterr().err
    assert err.count("Thought for") == 3 and "Thought for 0 tokens" in err and "commands:" in err
    assert err.count("[arithmetic verifier: ") == 2  # the two questions in the task's words, not "hi"


def test_ask_with_history_and_context_limit(tiny_checkpoint):
    history = [{"role": "user", "content": "What is 2 + 3?"}, {"role": "assistant", "content": "5"},
               {"role": "user", "content": "And 3 + 4?"}]
    out = ask(history, model=str(tiny_checkpoint), budget=4)
    assert out.thinking_tokens <= 4
    with pytest.raises(ValueError, match="context"):
        ask("What is 2 + 3?", model=str(tiny_checkpoint), budget=100_000)
    with pytest.raises(ValueError, match="empty"):
        ask(" ", model=str(tiny_checkpoint))


def test_engine_runs_a_qwen2_model(tokenizer, tmp_path):
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    folder = save_checkpoint(Qwen2ForCausalLM(config), tokenizer, PonderMeta(), tmp_path / "qwen")
    model, tok, _, _ = load_checkpoint(folder)
    out = generate(model, tok, [prompt_ids(tok, "What is 2 + 3?")] * 2, GenerationParams(max_thinking=6,
                                                                                         answer_budget=3))
    assert all(c.thinking_tokens <= 6 for c in out) and out[0].token_ids == out[1].token_ids


def test_a_folder_without_chat_template_is_refused(tiny_checkpoint, tmp_path):
    import json
    import shutil

    copy = tmp_path / "nochat"
    shutil.copytree(tiny_checkpoint, copy)
    (copy / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((copy / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (copy / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="chat template"):
        load_checkpoint(copy)
