"""Score models: ``build_model(cfg, *, side)`` -> nn.Module with ``model(x, sigma)``.

``x`` (B, H, W) is the preconditioned noisy image, ``sigma`` (B,) its noise level; the output
(B, H, W) is the prediction named by ``model.predicts`` ("eps" or "x0"), which
``tsearch.diffusion`` turns into a score. Every model works under ``torch.func.functional_call``
+ ``torch.vmap`` over parameters stacked with ``torch.func.stack_module_state``.
"""

from __future__ import annotations

from torch import nn

from ..config import MIN_NETWORK_SIDE, MODELS, NETWORK_KINDS
from ..errors import UserError
from .cnn import CNNScore
from .mlp import MLPScore
from .polygon import PolygonScore
from .transformer import TransformerScore
from .unet import UNetScore


def build_model(cfg, *, side: int) -> nn.Module:
    """The score network of config table ``[model]`` (a *Config dataclass) for side x side images.

    Parameters are drawn from torch's default generator, as for any nn.Module."""
    if cfg.kind not in NETWORK_KINDS:
        raise UserError(f"model.kind: {cfg.kind!r} is not a trainable model "
                        f"(one of {', '.join(sorted(NETWORK_KINDS))}; oracles are built by tsearch.oracles)")
    if side < MIN_NETWORK_SIDE:  # the config loader rejects it first; kept for direct callers
        raise UserError(f"target.side: score models need side >= {MIN_NETWORK_SIDE}, got {side}")
    return MODELS.build(cfg, side=side)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["build_model", "count_parameters", "CNNScore", "MLPScore", "PolygonScore",
           "TransformerScore", "UNetScore"]
