import pytest

TEXTS = [
    "What is 482 * 317?", "result 1 5 2 7 9 4", "try 13-5=8 vs 24 no left 3 8 8", "(13-5)*3",
    "héllo wörld 🙂 — tabs\tand\nlines", "007 1000 99999", "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_round_trip(tokenizer, text):
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids) == text


def test_numbers_and_think_tags_are_single_tokens(tokenizer):
    for n in (0, 7, 13, 24, 100, 482, 999):
        assert len(tokenizer.encode(str(n), add_special_tokens=False)) == 1
    assert len(tokenizer.encode("1702", add_special_tokens=False)) == 4
    for tag in ("<think>", "</think>"):
        assert len(tokenizer.encode(tag, add_special_tokens=False)) == 1


def test_chat_template(tokenizer):
    messages = [{"role": "user", "content": "What is 2 + 3?"}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == "<|bos|><|user|>What is 2 + 3?<|end|><|assistant|>"
    off = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, enable_thinking=False)
    assert off.endswith("<|assistant|><think></think>")
    history = messages + [{"role": "assistant", "content": "<think>2+3=5</think>5"}]
    text = tokenizer.apply_chat_template(history, tokenize=False)
    assert "2+3=5</think>" not in text and text.endswith("<think></think>5<|end|>")


def test_saved_tokenizer_loads_with_auto(tokenizer, tmp_path):
    from transformers import AutoTokenizer

    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded.encode(TEXTS[0]) == tokenizer.encode(TEXTS[0])
    assert loaded.chat_template == tokenizer.chat_template
