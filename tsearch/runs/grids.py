"""Image grids (pillow): training sets and samples, one binary image per cell."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic import write_atomic


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
