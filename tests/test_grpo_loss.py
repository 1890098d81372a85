import math

import pytest
import torch

from ponder.train.grpo_loss import group_advantages, informative_groups, policy_loss, weight_negatives


def test_group_advantages_by_hand():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    plain = group_advantages(rewards, scale_std=False)
    assert torch.allclose(plain, torch.tensor([[0.5, -0.5, -0.5, 0.5], [0.0, 0.0, 0.0, 0.0]]))
    scaled = group_advantages(rewards)
    std = math.sqrt(1 / 3)  # unbiased std of (1, 0, 0, 1)
    assert torch.allclose(scaled[0], torch.tensor([0.5, -0.5, -0.5, 0.5]) / std, atol=1e-4)
    assert torch.all(scaled[1] == 0)
    assert informative_groups(rewards).tolist() == [True, False]
    with pytest.raises(ValueError):
        group_advantages(torch.tensor([[1.0], [0.0]]))


def test_weight_negatives_scales_only_negative_advantages():
    adv = torch.tensor([[0.75, -0.25, -0.25, -0.25], [0.0, 0.0, 0.0, 0.0]])
    assert torch.equal(weight_negatives(adv, 1.0), adv)
    assert torch.allclose(weight_negatives(adv, 0.0), torch.tensor([[0.75, 0.0, 0.0, 0.0], [0.0] * 4]))
    assert torch.allclose(weight_negatives(adv, 0.5)[0], torch.tensor([0.75, -0.125, -0.125, -0.125]))
    with pytest.raises(ValueError):
        weight_negatives(adv, -1.0)


def test_policy_loss_by_hand():
    logp_old = torch.log(torch.tensor([[0.5, 0.5], [0.5, 0.5]]))
    logp = torch.log(torch.tensor([[0.8, 0.5], [0.25, 0.5]]))  # ratios (1.6, 1) and (0.5, 1)
    adv = torch.tensor([1.0, -1.0])
    mask = torch.tensor([[1, 1], [1, 0]])
    loss, stats = policy_loss(logp, logp_old, adv, mask, clip_low=0.2, clip_high=0.28)
    # row 0: min(1.6, 1.28) * 1 = 1.28 and 1.0; row 1 (A<0): min(-0.5, -0.8) = -0.8; the masked token is dropped
    expected = -(1.28 + 1.0 - 0.8) / 3
    assert loss.item() == pytest.approx(expected, abs=1e-5)
    assert stats.clip_fraction == pytest.approx(2 / 3, abs=1e-5)
    seq, _ = policy_loss(logp, logp_old, adv, mask, norm="sequence")
    assert seq.item() == pytest.approx(-((1.28 + 1.0) / 2 + (-0.8)) / 2, abs=1e-5)


def test_kl_term_and_masked_tokens_get_no_gradient():
    logp = torch.log(torch.tensor([[0.5, 0.2, 0.9]])).requires_grad_()
    ref = torch.log(torch.tensor([[0.25, 0.2, 0.1]]))
    mask = torch.tensor([[1, 1, 0]])
    loss, stats = policy_loss(logp, logp.detach(), torch.tensor([0.0]), mask, beta=0.1, logp_ref=ref)
    k3 = 0.5 - math.log(0.5) - 1  # ref/p = 0.5 on the first token, 1 on the second
    assert stats.kl == pytest.approx(k3 / 2, abs=1e-5)
    assert loss.item() == pytest.approx(0.1 * k3 / 2, abs=1e-5)
    loss.backward()
    assert logp.grad[0, 2] == 0 and logp.grad[0, 0] != 0
    with pytest.raises(ValueError):
        policy_loss(logp, logp, torch.tensor([0.0]), mask, beta=0.1)


def test_sequence_logprobs_are_those_of_the_sampling_temperature(tiny_model):
    from ponder.train.grpo_loss import sequence_logprobs

    model, tok, _ = tiny_model
    ids = torch.tensor([tok.encode("What is 2 + 3?", add_special_tokens=False)])
    attn = torch.ones_like(ids)
    logits = model(input_ids=ids, attention_mask=attn).logits[:, :-1].float()
    for t in (1.0, 0.5):
        want = torch.log_softmax(logits / t, -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
        assert torch.allclose(sequence_logprobs(model, ids, attn, temperature=t), want, atol=1e-5)
    assert not torch.allclose(sequence_logprobs(model, ids, attn, temperature=0.5),
                              sequence_logprobs(model, ids, attn))
