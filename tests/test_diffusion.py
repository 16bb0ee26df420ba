"""Processes, the DSM loss and the samplers, checked against a Gaussian's exact score."""

import pytest
import torch
from torch.func import functional_call, stack_module_state

from tsearch.config import ConfigError, DiffusionConfig, SamplerConfig, config_from_dict
from tsearch.diffusion import build_process, build_sampler, denoising_loss, make_score_fn

KINDS = ("ou", "ve")
SAMPLERS = ("reverse_sde", "annealed_langevin", "probability_flow")


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def gaussian_score(process, mu: float, s: float):
    """Exact score of p_t when x_0 ~ N(mu, s^2 I): N(alpha mu, (alpha^2 s^2 + sigma^2) I)."""
    def score_fn(x, t):
        alpha, sigma = process.alpha(t), process.sigma(t)
        return -(x - alpha * mu) / (alpha**2 * s**2 + sigma**2)
    return score_fn


# ----------------------------------------------------------------------------- processes
@pytest.mark.parametrize("kind", KINDS)
def test_process_grid_and_training_times(kind):
    process = build_process(DiffusionConfig(kind=kind))
    grid = process.time_grid(10, "cpu")
    assert grid.shape == (11,) and grid[0] == pytest.approx(process.t_max)
    assert grid[-1] == pytest.approx(process.t_min) and bool((grid[1:] < grid[:-1]).all())
    t = process.sample_t((3, 500), [gen(0), gen(1), gen(2)])
    assert t.shape == (3, 500) and t.min() >= process.t_min and t.max() <= process.t_max
    assert torch.equal(t[1], process.sample_t((500,), gen(1)))
    # log sigma_hat is uniform: its median is the midpoint of the log range (3 % of the range)
    lo, hi = process.sigma_hat(grid[[-1, 0]]).log()
    assert process.sigma_hat(t).log().median() == pytest.approx(float((lo + hi) / 2), abs=0.03 * float(hi - lo))


def test_ou_marginal_has_unit_variance_for_unit_data():
    process = build_process(DiffusionConfig(kind="ou"))
    t = torch.linspace(1e-3, 4, 50)
    assert torch.allclose(process.alpha(t) ** 2 + process.sigma(t) ** 2, torch.ones(50))
    assert torch.allclose(process.sigma_hat(t), process.sigma(t) / process.alpha(t), rtol=1e-4)
    assert process.prior_std() == pytest.approx(1.0)


# ----------------------------------------------------------------------------- samplers
SAMPLER_SETTINGS = {  # (config overrides, tolerance on the variance ratio)
    "reverse_sde": ({}, 0.07),  # Euler–Maruyama's O(dt) bias: measured +3 % (OU), +4 % (VE)
    "annealed_langevin": ({}, 0.08),  # measured +2 % (OU), +4.5 % (VE) at snr 0.5
    "probability_flow": ({}, 0.03),  # Heun: measured within 0.5 %
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sampler_kind", SAMPLERS)
def test_sampler_recovers_gaussian_mean_and_variance(kind, sampler_kind):
    mu, s = 0.5, 0.7
    process = build_process(DiffusionConfig(kind=kind))
    overrides, var_tol = SAMPLER_SETTINGS[sampler_kind]
    sampler = build_sampler(SamplerConfig(kind=sampler_kind, n_steps=100, **overrides), process)
    x = sampler.sample(gaussian_score(process, mu, s), (1000, 4, 4), gen(0))
    # the final Tweedie step returns E[x_0 | x_tmin], whose variance is shrunk by alpha^2 s^2 / v
    t_min = torch.tensor(process.t_min)
    alpha, sigma = process.alpha(t_min), process.sigma(t_min)
    expected_var = float(s**2 * alpha**2 * s**2 / (alpha**2 * s**2 + sigma**2))
    # 16000 draws: the mean's standard error is 0.006; 0.03 allows lag in the chain as well
    assert float(x.mean()) == pytest.approx(mu, abs=0.03)
    assert float(x.var()) / expected_var == pytest.approx(1.0, abs=var_tol)


@pytest.mark.parametrize("sampler_kind", SAMPLERS)
def test_sampler_is_reproducible_from_its_seed(sampler_kind):
    process = build_process(DiffusionConfig())
    sampler = build_sampler(SamplerConfig(kind=sampler_kind, n_steps=10, langevin_steps=2), process)
    score_fn = gaussian_score(process, 0.0, 1.0)
    a, b = (sampler.sample(score_fn, (4, 3, 3), gen(7)) for _ in range(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, sampler.sample(score_fn, (4, 3, 3), gen(8)))


@pytest.mark.parametrize("sampler_kind", SAMPLERS)
def test_stacked_sampling_matches_each_model_alone(sampler_kind):
    process = build_process(DiffusionConfig(kind="ve"))
    sampler = build_sampler(SamplerConfig(kind=sampler_kind, n_steps=10, langevin_steps=2), process)
    score_fn = gaussian_score(process, 0.3, 0.5)
    stacked = sampler.sample(score_fn, (3, 4, 3, 3), [gen(10 + i) for i in range(3)])
    assert stacked.shape == (3, 4, 3, 3)
    for i in range(3):
        assert torch.equal(stacked[i], sampler.sample(score_fn, (4, 3, 3), gen(10 + i)))


def test_sampler_config_rejects_unknown_solver():
    with pytest.raises(ConfigError, match="sampler.solver"):
        config_from_dict({"sampler": {"solver": "rk4"}})


# ----------------------------------------------------------------------------- loss
def perfect_net(x0: torch.Tensor, predicts: str):
    """Knows the clean image x0: inverts x_in = (x0 + sigma_hat z) / sqrt(1 + sigma_hat^2)."""
    def net_fn(x_in, sigma_hat):
        sigma_hat = sigma_hat[..., None, None]
        if predicts == "x0":
            return x0.expand_as(x_in)
        return (x_in * torch.sqrt(1 + sigma_hat**2) - x0) / sigma_hat
    return net_fn


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("predicts", ("eps", "x0"))
def test_perfect_predictor_beats_zero_predictor(kind, predicts):
    process = build_process(DiffusionConfig(kind=kind))
    x0 = torch.where(torch.rand(16, 4, 4, generator=gen(0)) > 0.5, 1.0, -1.0)
    perfect = denoising_loss(perfect_net(x0, predicts), x0, process, gen(1), predicts=predicts)
    zero = denoising_loss(lambda x, s: torch.zeros_like(x), x0, process, gen(1), predicts="eps")
    assert perfect.shape == zero.shape == (16,)
    assert float(perfect.max()) < 1e-3 < float(zero.mean())  # zero predictor: E|z|^2 / d = 1


class TinyNet(torch.nn.Module):
    """x (B, H, W), sigma (B,) -> (B, H, W): one linear map of the pixels, scaled by log sigma."""

    def __init__(self, d: int):
        super().__init__()
        self.linear = torch.nn.Linear(d, d)

    def forward(self, x, sigma):
        out = self.linear(x.flatten(-2)) * (1 + sigma.log()[..., None])
        return out.reshape(x.shape)


def test_loss_of_a_vmapped_stacked_model_matches_each_model_alone():
    nets = [TinyNet(9) for _ in range(3)]
    params, buffers = stack_module_state(nets)

    def stacked_net(x, sigma):  # (P, B, H, W), (P, B) -> (P, B, H, W)
        one = lambda p, b, x, s: functional_call(nets[0], (p, b), (x, s))  # noqa: E731
        return torch.vmap(one)(params, buffers, x, sigma)

    process = build_process(DiffusionConfig())
    x0 = torch.where(torch.rand(3, 5, 3, 3, generator=gen(0)) > 0.5, 1.0, -1.0)
    loss = denoising_loss(stacked_net, x0, process, [gen(i) for i in range(3)])
    assert loss.shape == (3, 5)
    for i in range(3):
        alone = denoising_loss(nets[i], x0[i], process, gen(i))
        torch.testing.assert_close(loss[i], alone)


def test_score_fn_of_the_two_parameterizations_agree():
    process = build_process(DiffusionConfig())
    x0 = torch.where(torch.rand(6, 4, 4, generator=gen(3)) > 0.5, 1.0, -1.0)
    z = torch.randn(6, 4, 4, generator=gen(4))
    t = torch.tensor(0.3)
    x_t = process.alpha(t) * x0 + process.sigma(t) * z
    for predicts in ("eps", "x0"):
        score = make_score_fn(perfect_net(x0, predicts), process, predicts)(x_t, t)
        torch.testing.assert_close(score, -z / process.sigma(t), rtol=1e-4, atol=1e-4)
