"""The growing KV cache returns exactly what transformers' concatenating DynamicLayer does, also after its tensors
are replaced from outside (continuous batching's merge, row selection and trimming)."""

import torch
from transformers.cache_utils import DynamicLayer

from ponder.engine.kv_cache import GrowingLayer, growing_cache


def _kv(batch: int, length: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 2, length, 4, generator=g), torch.randn(batch, 2, length, 4, generator=g)


def test_updates_match_dynamic_layer_across_growth_and_outside_changes():
    grow, plain = GrowingLayer(), DynamicLayer()
    for step, length in enumerate([5, 1, 1, 70, 1]):  # a prefill, steps, and a chunk past the first capacity
        k, v = _kv(3, length, step)
        for got, want in zip(grow.update(k, v), plain.update(k, v), strict=True):
            assert torch.equal(got, want)
    keep = torch.tensor([0, 2])
    grow.batch_select_indices(keep)
    plain.batch_select_indices(keep)
    for layer in (grow, plain):  # a trim of leading columns, as _trim_unused_columns does
        layer.keys, layer.values = layer.keys[..., 3:, :], layer.values[..., 3:, :]
    for step in range(3):
        k, v = _kv(2, 1, 10 + step)
        for got, want in zip(grow.update(k, v), plain.update(k, v), strict=True):
            assert torch.equal(got, want)
    assert grow.get_seq_length() == plain.get_seq_length() == 78 - 3 + 3


def test_a_step_writes_in_place_instead_of_copying_the_cache():
    layer = GrowingLayer()
    layer.update(*_kv(2, 10, 0))
    before = layer.keys.data_ptr()
    layer.update(*_kv(2, 1, 1))
    assert layer.keys.data_ptr() == before and layer.get_seq_length() == 11


def test_growing_cache_builds_growing_layers():
    cache = growing_cache()
    cache.update(*_kv(1, 4, 0), layer_idx=0)
    assert isinstance(cache.layers[0], GrowingLayer)
