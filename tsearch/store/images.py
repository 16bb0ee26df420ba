"""The images a run folder keeps: PNG grids of training sets and samples (pillow, one binary
image per cell), and the bit-packed samples of every scored step (.npz) that re-scoring reads."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic import write_atomic
from ..errors import UserError
from ..imageio import read_arrays
from ..tasks import EvalResult


def grid_image(images, *, n_cols: int | None = None, cell_px: int = 48, pad: int = 2) -> Image.Image:
    """(N, H, W) images (white where > 0) -> one grayscale picture, cells on a gray background.

    Each image pixel becomes a square block so that 4x4 and 32x32 images are equally legible.
    """
    x = np.asarray(images)
    n, h, w = x.shape
    n_cols = n_cols or max(1, int(np.ceil(np.sqrt(n))))
    n_rows = max(1, -(-n // n_cols))
    scale = max(1, cell_px // max(h, w))
    ch, cw = h * scale, w * scale
    canvas = np.full((n_rows * (ch + pad) + pad, n_cols * (cw + pad) + pad), 128, np.uint8)
    cells = np.where(x > 0, 255, 0).astype(np.uint8).repeat(scale, 1).repeat(scale, 2)  # (N, ch, cw)
    for i, cell in enumerate(cells):
        r, c = divmod(i, n_cols)
        canvas[pad + r * (ch + pad):pad + r * (ch + pad) + ch,
               pad + c * (cw + pad):pad + c * (cw + pad) + cw] = cell
    return Image.fromarray(canvas, mode="L")


def save_grid(path: str | Path, images, *, max_images: int = 64, **kwargs) -> None:
    """Write the first ``max_images`` images as a PNG grid (atomically)."""
    buffer = io.BytesIO()
    grid_image(np.asarray(images)[:max_images], **kwargs).save(buffer, format="PNG")
    write_atomic(path, buffer.getvalue())


# ----------------------------------------------------------------------------- packed samples
def pack_samples(result: EvalResult, *, seed: int) -> dict[str, np.ndarray]:
    """What re-scoring an evaluation needs (tsearch score DIR), as arrays of a compressed .npz:
    ``bits`` (S, M, B) uint8 = np.packbits of the white pixels of each sample (row-major, B =
    ceil(H W / 8)) at each of the S scored steps ``steps`` (S,); ``train_bits`` (n, B) the
    training set alike; ``shape`` (H, W); ``seed`` the task's seed (bootstrap resamples)."""
    kept = [s for s in result.scored if s.samples is not None]
    train = np.asarray(result.train_images) > 0
    return {"bits": np.stack([_bits(np.asarray(s.samples) > 0) for s in kept]),
            "steps": np.array([s.step for s in kept], np.int64),
            "train_bits": _bits(train), "shape": np.array(train.shape[1:], np.int64),
            "seed": np.array(seed, np.int64)}


def unpack_samples(arrays: Mapping[str, np.ndarray]) -> tuple[dict[int, np.ndarray], np.ndarray, int]:
    """{step: (M, H, W) float32 ±1}, the training set (n, H, W) ±1 and the seed of a
    pack_samples file."""
    h, w = (int(v) for v in arrays["shape"])
    samples = {int(step): _unbits(bits, h, w) for step, bits in zip(arrays["steps"], arrays["bits"])}
    return samples, _unbits(arrays["train_bits"], h, w), int(arrays["seed"])


def read_samples(path: Path) -> tuple[dict[int, np.ndarray], np.ndarray, int]:
    """:func:`unpack_samples` of a file in a run folder: any file that is not one (truncated,
    other arrays, forged shapes) is one UserError naming it."""
    arrays = read_arrays(path)
    try:
        return unpack_samples(arrays)
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise UserError(f"{path}: not a packed samples file ({type(exc).__name__}: {str(exc)[:60]})") from None


def read_images(path: Path, name: str = "images") -> np.ndarray:
    """The array ``name`` of an .npz in a run folder (checked by tsearch.imageio.read_arrays)."""
    arrays = read_arrays(path)
    if name not in arrays:
        raise UserError(f"{path}: no array named {name!r} (found: {', '.join(arrays) or 'none'})")
    return arrays[name]


def _bits(white: np.ndarray) -> np.ndarray:
    return np.packbits(white.reshape(len(white), -1), axis=1)


def _unbits(bits: np.ndarray, h: int, w: int) -> np.ndarray:
    white = np.unpackbits(bits, axis=1, count=h * w).reshape(len(bits), h, w)
    return np.where(white > 0, 1.0, -1.0).astype(np.float32)
