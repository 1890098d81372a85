import random

from ponder.engine.stream import IncrementalDecoder


def test_incremental_decoding_equals_decoding_at_once(tokenizer):
    pool = tokenizer.convert_tokens_to_ids(["4", "12", "a", " ", "<think>", "<0xE2>", "<0x82>", "<0xAC>", "<0xF0>",
                                            "<0x9F>", "<0xC3>", "<0xA9>"])
    rng = random.Random(0)
    for _ in range(3000):
        ids = [rng.choice(pool) for _ in range(rng.randint(1, 8))]
        decoder = IncrementalDecoder(tokenizer)
        text = "".join(decoder.push(i) for i in ids) + decoder.flush()
        assert text == tokenizer.decode(ids)
