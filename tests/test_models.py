"""Score models: shapes, sizes, vmap over stacked copies, trainability, polygon rasterizer."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import shapely
import torch
from torch.func import functional_call, grad, stack_module_state, vmap

from tsearch.config import CNNConfig, MLPConfig, PolygonModelConfig, TransformerConfig, UNetConfig, config_to_dict
from tsearch.errors import UserError
from tsearch.models import build_model, count_parameters
from tsearch.models.polygon import pixel_centres, soft_rasterize, star_polygon

CONFIGS = [MLPConfig(), CNNConfig(), UNetConfig(), TransformerConfig(), PolygonModelConfig()]
SMALL = {  # small variants for the slower checks: same code paths, fewer FLOPs
    "mlp": MLPConfig(width=32, depth=2),
    "cnn": CNNConfig(channels=16, depth=3),
    "unet": UNetConfig(channels=(8, 16, 16)),
    "transformer": TransformerConfig(width=32, depth=2),
    "polygon": PolygonModelConfig(channels=8, width=32),
}
KINDS = list(SMALL)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def make_model(cfg, side: int, seed: int = 0):
    with torch.random.fork_rng(devices=[]):  # deterministic init without touching the caller's RNG
        torch.manual_seed(seed)
        return build_model(cfg, side=side)


def noisy_batch(side: int, batch: int, seed: int = 0):
    g = seeded(seed)
    return torch.randn(batch, side, side, generator=g), torch.exp(torch.randn(batch, generator=g))


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c.kind)
@pytest.mark.parametrize("side", [4, 6, 8, 16])
def test_output_shape_and_size(cfg, side):
    model = make_model(cfg, side)
    x, sigma = noisy_batch(side, 3)
    y = model(x, sigma)
    assert y.shape == (3, side, side) and torch.isfinite(y).all()
    assert model.predicts in ("eps", "x0")
    assert 50_000 <= count_parameters(model) <= 300_000


def test_unet_default_is_about_160k():
    assert abs(count_parameters(make_model(UNetConfig(), 16)) - 160_000) < 5_000


def test_user_errors():
    from tsearch.config import EmpiricalConfig
    with pytest.raises(UserError, match="side"):
        build_model(CNNConfig(), side=3)
    with pytest.raises(UserError, match="model.kind"):
        build_model(EmpiricalConfig(), side=8)


@pytest.mark.parametrize("kind", KINDS)
def test_vmap_over_stacked_copies_matches_separate_calls(kind):
    side, P = 6, 3
    models = [make_model(SMALL[kind], side, seed=i) for i in range(P)]
    params, buffers = stack_module_state(models)
    x, sigma = noisy_batch(side, 4)
    xs, sigmas = x.expand(P, -1, -1, -1) + 0.1 * torch.arange(P)[:, None, None, None], sigma.expand(P, -1)

    def call(p, b, x, s):
        return functional_call(models[0], (p, b), (x, s))

    stacked = vmap(call)(params, buffers, xs, sigmas)
    separate = torch.stack([m(xi, si) for m, xi, si in zip(models, xs, sigmas)])
    torch.testing.assert_close(stacked, separate, rtol=1e-4, atol=1e-5)

    def loss(p, b, x, s):
        return (call(p, b, x, s) ** 2).mean()

    grads = vmap(grad(loss))(params, buffers, xs, sigmas)
    norms = torch.stack([sum(g[i].abs().sum() for g in grads.values()) for i in range(P)])
    assert torch.isfinite(norms).all() and (norms > 0).all()
    # copy 0's gradient under vmap equals the gradient of a lone call
    lone = torch.autograd.grad(loss(dict(models[0].named_parameters()), {}, xs[0], sigmas[0]),
                               list(models[0].parameters()))
    torch.testing.assert_close(grads[next(iter(grads))][0], lone[0], rtol=1e-4, atol=1e-6)


def tiny_dataset(side: int) -> torch.Tensor:
    """Four +-1 images: two squares, a bar and a triangle."""
    img = -torch.ones(4, side, side)
    img[0, 1:4, 1:4] = 1
    img[1, 3:6, 2:5] = 1
    img[2, 2, :] = 1
    img[3] = torch.where(torch.arange(side)[:, None] >= torch.arange(side)[None, :], 1.0, -1.0)
    return img


def denoising_loss(model, x0, sigma, eps):
    """MSE of the model's own prediction target at x = (x0 + sigma eps) / sqrt(1 + sigma^2)."""
    x_in = (x0 + sigma[:, None, None] * eps) / (1 + sigma[:, None, None] ** 2).sqrt()
    target = eps if model.predicts == "eps" else x0
    return ((model(x_in, sigma) - target) ** 2).mean()


X0 = {k: dataclasses.replace(cfg, predicts="x0") for k, cfg in SMALL.items() if k != "polygon"}


@pytest.mark.parametrize("kind", X0)
def test_a_network_predicts_what_its_config_says(kind):
    assert make_model(SMALL[kind], 6).predicts == "eps"
    assert make_model(X0[kind], 6).predicts == "x0"
    assert "predicts" not in config_to_dict(SMALL[kind])  # added later: left out at its default
    assert config_to_dict(X0[kind])["predicts"] == "x0"


@pytest.mark.parametrize("kind", KINDS + [f"{k}-x0" for k in X0])
def test_adam_reduces_denoising_loss(kind):
    side, steps = 6, 40
    model = make_model(X0[kind[:-3]] if kind.endswith("-x0") else SMALL[kind], side)
    g = seeded(1)
    x0 = tiny_dataset(side).repeat(4, 1, 1)  # (16, side, side)
    sigma = torch.exp(torch.empty(16).uniform_(-2, 1, generator=g))
    eps = torch.randn(x0.shape, generator=g)  # fixed noise: a deterministic regression problem
    before = denoising_loss(model, x0, sigma, eps).item()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        opt.zero_grad()
        denoising_loss(model, x0, sigma, eps).backward()
        opt.step()
    after = denoising_loss(model, x0, sigma, eps).item()
    assert after < 0.8 * before, (before, after)


def random_star_vertices(K: int, rng: np.random.Generator) -> np.ndarray:
    """(K, 2) vertices of a random simple (star-shaped) polygon inside the unit square."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, K))
    radii = rng.uniform(0.15, 0.4, K)
    centre = rng.uniform(0.4, 0.6, 2)
    return centre + radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], -1)


def hard_rasterize(vertices: np.ndarray, side: int) -> np.ndarray:
    """+1 where the pixel centre is strictly inside the polygon (shapely), -1 elsewhere."""
    points = pixel_centres(side, dtype=torch.float64).numpy()
    inside = shapely.contains_xy(shapely.Polygon(vertices), points[:, 0], points[:, 1])
    return np.where(inside, 1.0, -1.0).reshape(side, side)


@pytest.mark.parametrize("side", [8, 16])
def test_soft_rasterizer_reproduces_hard_rasterization(side):
    rng = np.random.default_rng(0)
    polys = [random_star_vertices(int(rng.integers(3, 7)), rng) for _ in range(20)]
    # a non-star-shaped simple polygon (a U); a rectangle on pixel boundaries at side 16, through
    # pixel centres at side 8
    polys += [np.array([[.1, .1], [.9, .1], [.9, .9], [.7, .9], [.7, .3], [.3, .3], [.3, .9], [.1, .9]]),
              np.array([[2, 2], [10, 2], [10, 7], [2, 7]]) / 16]
    for vertices in polys:
        soft = soft_rasterize(torch.tensor(vertices)[None], side=side, sharpness=1e4)[0].numpy()
        hard = hard_rasterize(vertices, side)
        np.testing.assert_array_equal(np.where(soft > 0, 1.0, -1.0), hard)
        # away from the boundary (> 1e-3 pixel) the soft image is saturated at +-1
        far = shapely.distance(shapely.Polygon(vertices).boundary,
                               shapely.points(pixel_centres(side, dtype=torch.float64).numpy()))
        far = far.reshape(side, side) * side > 1e-3
        np.testing.assert_allclose(soft[far], hard[far], atol=1e-6)


def test_pixel_on_an_edge_is_outside_and_has_finite_gradient():
    side = 4  # the edge x = 0.625 passes through the pixel centres of column 2
    vertices = torch.tensor([[[0.1, 0.1], [0.625, 0.1], [0.625, 0.9], [0.1, 0.9]]], requires_grad=True)
    img = soft_rasterize(vertices, side=side, sharpness=10.0)
    assert (img[0, :, 2] == 0).all()  # binarizes to black: "strictly inside" convention
    img.sum().backward()
    assert torch.isfinite(vertices.grad).all()


def test_star_polygon_is_always_simple():
    g = seeded(3)
    K = 6
    vertices = star_polygon(torch.rand(200, 2, generator=g), 10 * torch.randn(200, generator=g),
                            5 * torch.randn(200, K, generator=g), torch.rand(200, K, generator=g) + 1e-3)
    assert all(shapely.Polygon(v).is_valid for v in vertices.numpy())


def test_polygon_model_output_is_a_polygon_rendering():
    side = 8
    model = make_model(SMALL["polygon"], side)
    x, sigma = noisy_batch(side, 5)
    vertices, sharpness = model.polygon(x, sigma)
    assert vertices.shape == (5, model.K, 2) and sharpness.shape == (5,)
    out = model(x, sigma)
    for v, img in zip(vertices.detach().numpy(), out.detach().numpy()):
        assert np.array_equal(np.where(img > 0, 1.0, -1.0), hard_rasterize(v, side))
        assert (np.abs(img) <= 1).all()


def test_polygon_model_fits_one_polygon():
    """At low noise the crafted model can render a target polygon exactly after a short fit."""
    side = 8
    model = make_model(SMALL["polygon"], side)
    target = torch.tensor(hard_rasterize(np.array([[.2, .2], [.8, .3], [.5, .85]]), side), dtype=torch.float32)
    x0 = target.expand(8, -1, -1)
    g = seeded(2)
    sigma, eps = torch.full((8,), 0.1), torch.randn(8, side, side, generator=g)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        denoising_loss(model, x0, sigma, eps).backward()
        opt.step()
    x_in = (x0 + 0.1 * eps) / math.sqrt(1.01)
    wrong = (torch.where(model(x_in, sigma) > 0, 1.0, -1.0) != x0).sum(dim=(1, 2))
    assert wrong.max() <= 2, wrong  # at most 2 of 64 pixels off after 150 steps


def test_polygon_vertices_stay_float32_under_bf16_autocast():
    side = 8
    model = make_model(SMALL["polygon"], side)
    x, sigma = noisy_batch(side, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        vertices, _ = model.polygon(x, sigma)
        out = model(x, sigma)
    assert vertices.dtype == torch.float32 and out.dtype == torch.float32
