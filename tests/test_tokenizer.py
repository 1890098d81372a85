import pytest

TEXTS = [
    "What is 482 * 317?", "result 1 5 2 7 9 4", "try 13-5=8 vs 24 no left 3 8 8", "(13-5)*3",
    "héllo wörld 🙂 — tabs\tand\nlines", "007 1000 99999", "",
]


@pytest.mark.parametrize("spaced", [False, True])
@pytest.mark.parametrize("text", TEXTS)
def test_round_trip(request, text, spaced):
    tokenizer = request.getfixturevalue("spaced_tokenizer" if spaced else "tokenizer")
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids) == text


def test_space_prefixed_pieces_carry_the_space_before_them(spaced_tokenizer, tokenizer):
    """build_tokenizer(space_prefixed=True): a number, word or operator with its leading space is one token, so a
    trace line costs about a third fewer tokens; the plain pieces are still there (`try` opens a line)."""
    def pieces(tok, text):
        return [tok.decode([i]) for i in tok.encode(text, add_special_tokens=False)]

    line = "try 13*5=65 vs 40 no left 3 8 = 11 24 5"
    assert pieces(spaced_tokenizer, line) == ["try", " 13", "*", "5", "=", "65", " vs", " 40", " no", " left",
                                              " 3", " 8", " =", " 11", " 24", " 5"]
    assert len(pieces(tokenizer, line)) == 27
    assert pieces(spaced_tokenizer, "1702 482") == ["1", "7", "0", "2", " 482"]  # long numbers digit by digit
    vocab = spaced_tokenizer.get_vocab()
    assert all(piece in vocab for n in range(1000) for piece in (str(n), f" {n}"))


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


@pytest.mark.parametrize("spaced", [False, True])
def test_saved_tokenizer_loads_with_auto(request, tmp_path, spaced):
    from transformers import AutoTokenizer

    tokenizer = request.getfixturevalue("spaced_tokenizer" if spaced else "tokenizer")
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded.encode(TEXTS[0]) == tokenizer.encode(TEXTS[0])
    assert loaded.chat_template == tokenizer.chat_template


@pytest.mark.parametrize("spaced", [False, True])
def test_number_tokens_start_from_place_value_embeddings_in_both_forms(request, spaced):
    """`40` and ` 40` share their place-value part, so the two forms of a number start close (the space adds one
    shared vector), and the plain form points where the plain tokenizer's does (the scale follows the random
    embeddings, whose spread depends on the vocabulary size)."""
    import torch
    from transformers import LlamaForCausalLM

    from ponder.model.config import model_config
    from ponder.model.init import init_number_embeddings

    tokenizer = request.getfixturevalue("spaced_tokenizer" if spaced else "tokenizer")
    torch.manual_seed(0)
    model = LlamaForCausalLM(model_config("test", len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id,
                                          tokenizer.pad_token_id))
    assert init_number_embeddings(model, tokenizer, seed=3) == 1000 * (1 + spaced)
    emb, vocab = model.get_input_embeddings().weight, tokenizer.get_vocab()
    if spaced:
        cos = torch.nn.functional.cosine_similarity
        same = cos(emb[vocab["40"]], emb[vocab[" 40"]], dim=0)
        other = cos(emb[vocab["40"]], emb[vocab[" 73"]], dim=0)
        assert same > 0.5 > other
        plain = request.getfixturevalue("tokenizer")
        torch.manual_seed(0)
        base = LlamaForCausalLM(model_config("test", len(plain), plain.bos_token_id, plain.eos_token_id,
                                             plain.pad_token_id))
        init_number_embeddings(base, plain, seed=3)
        assert cos(base.get_input_embeddings().weight[plain.get_vocab()["482"]], emb[vocab["482"]], dim=0) > 0.999


def test_tokenizer_kind_names_the_flag_that_builds_a_tokenizer(tokenizer, spaced_tokenizer, tmp_path):
    from transformers import AutoTokenizer

    from ponder.model.tokenizer import tokenizer_kind

    spaced_tokenizer.save_pretrained(tmp_path)
    assert tokenizer_kind(tokenizer) is False and tokenizer_kind(AutoTokenizer.from_pretrained(tmp_path)) is True
    other = AutoTokenizer.from_pretrained(tmp_path)
    other.add_tokens(["<extra>"])
    assert tokenizer_kind(other) is None
