"""Oracles: the empirical score memorizes, the population score generalizes, the local score
machine is local and, with a window covering the image, denoises like the empirical score."""

import numpy as np
import pytest
import torch

from tsearch.config import (
    BernoulliConfig,
    DiffusionConfig,
    DotsConfig,
    EmpiricalConfig,
    LocalConfig,
    PopulationConfig,
    SamplerConfig,
)
from tsearch.diffusion import build_process, build_sampler
from tsearch.errors import UserError
from tsearch.oracles import build_oracle
from tsearch.oracles import empirical as empirical_module
from tsearch.targets import build_target
from tsearch.targets.base import image_keys


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_images(n: int, side: int, seed: int) -> torch.Tensor:
    return torch.where(torch.rand(n, side, side, generator=gen(seed)) > 0.5, 1.0, -1.0)


def copy_fraction(samples: torch.Tensor, train: torch.Tensor) -> float:
    keys = set(image_keys(train.numpy()))
    return float(np.mean([k in keys for k in image_keys(samples.numpy())]))


def sample(score_fn, process, shape, seed=0, **sampler):
    cfg = SamplerConfig(**{"n_steps": 50, **sampler})
    return build_sampler(cfg, process).sample(score_fn, shape, gen(seed))


@pytest.mark.parametrize("kind", ("ou", "ve"))
def test_empirical_score_is_the_gradient_of_the_smoothed_log_density(kind):
    process = build_process(DiffusionConfig(kind=kind))
    train = random_images(5, 3, seed=0).double()
    score_fn = build_oracle(EmpiricalConfig(), process=process, train_images=train)
    t = torch.tensor(0.2, dtype=torch.float64)
    alpha, sigma = process.alpha(t), process.sigma(t)
    x = (alpha * train[:2] + 0.8 * torch.randn(2, 3, 3, generator=gen(1), dtype=torch.float64))
    x.requires_grad_(True)
    log_p = torch.logsumexp(-((x[:, None] - alpha * train) ** 2).sum((-2, -1)) / (2 * sigma**2), dim=1)
    (grad,) = torch.autograd.grad(log_p.sum(), x)
    torch.testing.assert_close(score_fn(x.detach(), t), grad)


@pytest.mark.parametrize("sampler_kind", ("reverse_sde", "annealed_langevin", "probability_flow"))
def test_empirical_oracle_samples_copies_of_its_training_set(sampler_kind):
    train = random_images(8, 8, seed=0)
    process = build_process(DiffusionConfig())
    score_fn = build_oracle(EmpiricalConfig(), process=process, train_images=train)
    samples = sample(score_fn, process, (256, 8, 8), kind=sampler_kind)
    assert copy_fraction(samples, train) >= 0.99
    # every training image is drawn (each has probability 1/8; P(missing one) < 1e-13)
    assert len(set(image_keys(samples.numpy()))) == 8


def test_population_oracle_generalizes_on_single_dots():
    target = build_target(DotsConfig(side=8, k=1))
    train = torch.as_tensor(target.sample(4, np.random.default_rng(0)).images)
    process = build_process(DiffusionConfig())
    score_fn = build_oracle(PopulationConfig(), process=process, train_images=train, target=target,
                            rng=np.random.default_rng(1))
    samples = sample(score_fn, process, (256, 8, 8))
    valid = target.is_valid(samples.numpy()).valid.mean()
    # the 64-image support, 4 of them in the training set: ~94 % novel; 0.8 allows ~6 sd
    assert valid >= 0.99 and 1 - copy_fraction(samples, train) >= 0.8
    assert len(set(image_keys(samples.numpy()))) >= 40  # 256 uniform draws cover ~63 of 64


def test_population_oracle_without_a_listed_support_uses_a_fresh_reference_sample():
    target = build_target(BernoulliConfig(side=4, p=0.2))
    assert target.enumerate_support() is None
    process = build_process(DiffusionConfig())
    score_fn = build_oracle(PopulationConfig(reference_size=64), process=process,
                            train_images=random_images(2, 4, 0), target=target,
                            rng=np.random.default_rng(0))
    assert 1 <= score_fn.keys.shape[0] <= 64 and score_fn.keys.shape[1] == 16
    assert score_fn(torch.zeros(2, 3, 4, 4), torch.tensor(0.5)).shape == (2, 3, 4, 4)


def test_local_oracle_scores_any_leading_shape():
    process = build_process(DiffusionConfig())
    score_fn = build_oracle(LocalConfig(patch=3), process=process, train_images=random_images(4, 6, 0))
    x = torch.randn(2, 3, 6, 6, generator=gen(1))
    score = score_fn(x, torch.tensor(0.5))
    assert score.shape == (2, 3, 6, 6) and bool(score.isfinite().all())
    torch.testing.assert_close(score[1, 2], score_fn(x[1, 2], torch.tensor(0.5)))


def test_local_oracle_is_local():
    """Changing one pixel changes the patch-3 denoiser only within its 3 x 3 neighbourhood."""
    process = build_process(DiffusionConfig())
    local = build_oracle(LocalConfig(patch=3), process=process, train_images=random_images(4, 6, 0))
    x = torch.randn(6, 6, generator=gen(1))
    moved = x.clone()
    moved[3, 3] += 2.0
    changed = (local.denoise(x, torch.tensor(0.4)) - local.denoise(moved, torch.tensor(0.4))).abs() > 0
    outside = torch.ones(6, 6, dtype=torch.bool)
    outside[2:5, 2:5] = False
    assert changed[2:5, 2:5].any() and not changed[outside].any()


@pytest.mark.parametrize("t", (0.01, 0.1, 0.3))
def test_local_oracle_with_a_window_covering_the_image_denoises_like_the_empirical_one(t):
    """patch = 2 side + 1: every window sees the whole image; at low noise the shifted training
    images are far (zero padding), so the posterior is the empirical one (measured: they part
    above t ~ 1, where shifted images mix in and the machine makes chimeras)."""
    side, train = 6, random_images(6, 6, seed=2)
    process = build_process(DiffusionConfig())
    empirical = build_oracle(EmpiricalConfig(), process=process, train_images=train)
    local = build_oracle(LocalConfig(patch=2 * side + 1, padding="zero"), process=process,
                          train_images=train)
    t = torch.tensor(t)
    x = process.alpha(t) * train + process.sigma(t) * torch.randn(6, side, side, generator=gen(3))
    torch.testing.assert_close(local(x, t), empirical(x, t), rtol=1e-3, atol=1e-3 / t)


def test_local_oracle_with_a_window_covering_the_image_copies_dots():
    target = build_target(DotsConfig(side=5, k=1))
    train = torch.as_tensor(target.sample(4, np.random.default_rng(0)).images)
    process = build_process(DiffusionConfig())
    local = build_oracle(LocalConfig(patch=11, padding="zero"), process=process, train_images=train)
    samples = sample(local, process, (64, 5, 5), n_steps=30)
    assert copy_fraction(samples, train) >= 0.95


def test_local_oracle_chunks_give_the_same_answer(monkeypatch):
    process = build_process(DiffusionConfig())
    local = build_oracle(LocalConfig(patch=3), process=process, train_images=random_images(3, 5, 0))
    x, t = torch.randn(7, 5, 5, generator=gen(1)), torch.tensor(0.3)
    whole = local(x, t)
    monkeypatch.setattr(empirical_module, "CHUNK_ELEMENTS", 100)  # a few rows per chunk
    monkeypatch.setattr("tsearch.oracles.local.CHUNK_ELEMENTS", 100)
    torch.testing.assert_close(local(x, t), whole)


def test_oracles_reject_misshaped_images():
    process = build_process(DiffusionConfig())
    with pytest.raises(UserError, match="train_images"):
        build_oracle(EmpiricalConfig(), process=process, train_images=torch.ones(4, 4))
    score_fn = build_oracle(LocalConfig(), process=process, train_images=torch.ones(2, 4, 4))
    with pytest.raises(UserError, match="shape"):
        score_fn(torch.zeros(3, 5, 5), torch.tensor(0.5))


@pytest.mark.parametrize("patch", (3, 5))
def test_circular_local_oracle_is_translation_equivariant(patch):
    """Cyclic shifts of x shift the circular machine's denoiser (Kamb & Ganguli's ELS)."""
    process = build_process(DiffusionConfig())
    local = build_oracle(LocalConfig(patch=patch, padding="circular"), process=process,
                         train_images=random_images(4, 7, 0))
    x, t = torch.randn(3, 7, 7, generator=gen(4)), torch.tensor(0.3)
    for shift in ((1, 0), (2, 5), (6, 3)):
        moved = local.denoise(torch.roll(x, shift, dims=(-2, -1)), t)
        torch.testing.assert_close(moved, torch.roll(local.denoise(x, t), shift, dims=(-2, -1)),
                                   rtol=0, atol=1e-6)


@pytest.mark.parametrize("padding", ("black", "zero"))
def test_bordered_local_oracles_are_not_equivariant_under_cyclic_shifts(padding):
    process = build_process(DiffusionConfig())
    local = build_oracle(LocalConfig(patch=3, padding=padding), process=process,
                         train_images=random_images(4, 7, 0))
    x, t = torch.randn(7, 7, generator=gen(4)), torch.tensor(0.3)
    moved = local.denoise(torch.roll(x, (2, 3), dims=(-2, -1)), t)
    assert (moved - torch.roll(local.denoise(x, t), (2, 3), dims=(-2, -1))).abs().max() > 1e-2


@pytest.mark.parametrize("padding, centre", (("black", 1.0), ("circular", 1.0), ("zero", -1.0)))
def test_padding_decides_whether_a_corner_dot_can_appear_in_the_interior(padding, centre):
    """The only training image has a white dot in its corner. Padded black (or wrapped around,
    here also black), that corner patch is "white centre, black around" and matches a dot in
    the middle of x; padded with zeros, it differs from it in its 5 padded slots by alpha^2
    each, more than the all-black patches' one slot at the centre (4 alpha^2): the machine
    denoises the middle dot away."""
    process = build_process(DiffusionConfig())
    corner, middle = -torch.ones(1, 5, 5), -torch.ones(5, 5)
    corner[0, 0, 0], middle[2, 2] = 1.0, 1.0
    t = torch.tensor(0.05)
    local = build_oracle(LocalConfig(patch=3, padding=padding), process=process, train_images=corner)
    denoised = local.denoise(process.alpha(t) * middle, t)
    assert denoised[2, 2].item() == pytest.approx(centre, abs=1e-2)
