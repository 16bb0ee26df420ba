"""How well does each local-oracle padding predict a trained CNN / UNet denoiser? (docs/metrics.md)

Kamb & Ganguli 2025 report that the equivariant local score (ELS) machine predicts the outputs of
trained convolutional diffusion models with r^2 ~ 0.94-0.96. Here: train the project's models on a
few small training sets, then on the same noisy inputs x_t = alpha x_0 + sigma z (x_0 fresh target
samples, so the inputs are not the training images) compare denoisers E[x_0 | x_t]:

    r^2(t) = 1 - sum (D_model - D_oracle)^2 / sum (D_model - mean D_model)^2     (per noise level)

for the local oracle with each padding (circular | black | zero) and patch sizes, and, as
baselines, the empirical (memorizing) and population (target) oracles.

    nice -n 10 python benchmarks/local_oracle_r2.py [--steps 400] [--seeds 1] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from tsearch.config import CNNConfig, DiffusionConfig, DotsConfig, PolygonsConfig, UNetConfig
from tsearch.diffusion import build_process, denoising_loss, make_score_fn
from tsearch.models import build_model
from tsearch.oracles import EmpiricalScore, LocalScore, population_score
from tsearch.seeding import numpy_rng
from tsearch.targets import build_target
from tsearch.torch_seeding import torch_generator

SIGMA_HATS = (0.1, 0.3, 1.0, 3.0)  # noise levels sigma / alpha of the comparison
PADDINGS = ("circular", "black", "zero")
TRAINING_SETS = {  # name -> (target config, n_train)
    "dots8_n8": (DotsConfig(side=8, k=1), 8),
    "dots8_k2_n16": (DotsConfig(side=8, k=2), 16),
    "poly8_n16": (PolygonsConfig(side=8, max_vertices=5, min_area=4.0), 16),
}
MODELS = {"cnn": CNNConfig(), "unet": UNetConfig()}


def train(model_cfg, images: np.ndarray, process, *, steps: int, seed: int) -> torch.nn.Module:
    """Adam on the denoising loss, batch 64, lr 2e-3 (the project's defaults)."""
    torch.manual_seed(seed)
    net = build_model(model_cfg, side=images.shape[-1])
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    data = torch.as_tensor(images, dtype=torch.float32)
    g = torch_generator(seed, "train")
    for _ in range(steps):
        x0 = data[torch.randint(len(data), (64,), generator=g)]
        loss = denoising_loss(net, x0, process, g, predicts=net.predicts).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def denoiser(score_fn, process):
    """D(x, t) = E[x_0 | x_t = x] = (x + sigma^2 score) / alpha (Tweedie)."""
    def d(x, t):
        alpha, sigma = process.alpha(t), process.sigma(t)
        return (x + sigma**2 * score_fn(x, t)) / alpha
    return d


def r2(reference: torch.Tensor, prediction: torch.Tensor) -> float:
    residual = (reference - prediction).square().sum()
    total = (reference - reference.mean()).square().sum()
    return float(1 - residual / total)


def compare(name: str, target_cfg, n_train: int, model_name: str, *, steps: int, seed: int,
            patches: tuple[int, ...]) -> list[dict]:
    process = build_process(DiffusionConfig())
    target = build_target(target_cfg)
    train_images = target.sample(n_train, numpy_rng(seed, "train", name)).images
    fresh = torch.as_tensor(target.sample(256, numpy_rng(seed, "fresh", name)).images)
    t0 = time.perf_counter()
    net = train(MODELS[model_name], train_images, process, steps=steps, seed=seed)
    train_s = time.perf_counter() - t0
    oracles = {f"local_{p}_P{k}": LocalScore(process=process, images=train_images, patch=k, padding=p)
               for p in PADDINGS for k in patches}
    oracles["empirical"] = EmpiricalScore(process=process, images=train_images)
    oracles["population"] = population_score(process=process, target=target, reference_size=2048,
                                             rng=numpy_rng(seed, "population"))
    model_d = denoiser(make_score_fn(net, process, predicts=net.predicts), process)
    rows = []
    g = torch_generator(seed, "noise")
    for sigma_hat in SIGMA_HATS:
        t = process.t_of_sigma_hat(torch.tensor(sigma_hat))
        x = process.alpha(t) * fresh + process.sigma(t) * torch.randn(fresh.shape, generator=g)
        with torch.no_grad():
            reference = model_d(x, t)
            row = {"set": name, "model": model_name, "seed": seed, "sigma_hat": sigma_hat,
                   "train_s": round(train_s, 1)}
            row.update({k: round(r2(reference, denoiser(o, process)(x, t)), 4) for k, o in oracles.items()})
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--patches", type=int, nargs="+", default=[3, 5, 7])
    parser.add_argument("--sets", nargs="+", default=list(TRAINING_SETS))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for seed in range(args.seeds):
        for name in args.sets:
            for model_name in args.models:
                target_cfg, n_train = TRAINING_SETS[name]
                rows += compare(name, target_cfg, n_train, model_name, steps=args.steps, seed=seed,
                                patches=tuple(args.patches))
                print(json.dumps(rows[-len(SIGMA_HATS):]), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)
    summarize(rows)


def summarize(rows: list[dict]) -> None:
    """Mean r^2 over sets, models and seeds: per oracle x noise level, and overall."""
    oracles = [k for k in rows[0] if k.startswith(("local_", "empirical", "population"))]
    print("| oracle | " + " | ".join(f"sigma_hat={s}" for s in SIGMA_HATS) + " | mean |")
    print("|---" * (len(SIGMA_HATS) + 2) + "|")
    for o in oracles:
        per = [np.mean([r[o] for r in rows if r["sigma_hat"] == s]) for s in SIGMA_HATS]
        print(f"| {o} | " + " | ".join(f"{v:.3f}" for v in per) + f" | {np.mean(per):.3f} |")


if __name__ == "__main__":
    main()
