"""Loading user images: an .npz (array ``images``), an .npy, or PNG files, as (N, H, W) ±1.

Accepted pixel values: {0, 1}, {0, 255} or floats in [-1, 1] for arrays (binarized at 0,
or at 127.5 for {0, 255}); any PNG mode, white = bright (luminance above 127.5). Every
problem is a UserError of one line naming the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .errors import UserError


def load_images(path: str | Path) -> np.ndarray:
    """(N, H, W) float32 in {-1, +1} from an .npz/.npy file, one PNG, or a folder of PNGs."""
    path = Path(path)
    if path.is_dir():
        return _load_png_folder(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if path.suffix.lower() == ".png":
        return _load_png(path)[None].astype(np.float32)
    return _binarize(_read_array(path), path)


def _read_array(path: Path) -> np.ndarray:
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):
            return data
        with data:
            if "images" not in data.files:
                raise UserError(f"{path}: no array named 'images' (found: {', '.join(data.files) or 'none'})")
            return data["images"]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: cannot read as .npz or .npy ({exc.__class__.__name__})") from None


def _binarize(x: np.ndarray, path: Path) -> np.ndarray:
    if x.ndim != 3 or 0 in x.shape:
        raise UserError(f"{path}: images of shape {x.shape}; expected (N, H, W) with N, H, W >= 1")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise UserError(f"{path}: images of dtype {x.dtype}; expected numbers")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise UserError(f"{path}: images contain NaN or infinite values")
    if x.min() >= -1 and x.max() <= 1:  # also covers {0, 1}
        return np.where(x > 0, 1.0, -1.0).astype(np.float32)
    if np.isin(x, (0, 255)).all():
        return np.where(x > 127.5, 1.0, -1.0).astype(np.float32)
    raise UserError(f"{path}: values in [{x.min():g}, {x.max():g}]; expected {{0, 1}}, {{0, 255}} or [-1, 1]")


def _load_png_folder(folder: Path) -> np.ndarray:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png" and p.is_file())
    if not files:
        raise UserError(f"{folder}: no .png files in this folder")
    images = [_load_png(files[0])]
    for file in files[1:]:
        images.append(_load_png(file))
        if images[-1].shape != images[0].shape:
            raise UserError(f"{file}: size {images[-1].shape[::-1]} differs from "
                            f"{files[0].name}'s {images[0].shape[::-1]} (width, height)")
    return np.stack(images).astype(np.float32)


def _load_png(path: Path) -> np.ndarray:
    """(H, W) ±1 from any PNG mode; transparent pixels count as black."""
    from PIL import Image, UnidentifiedImageError  # pillow only when PNGs are read

    try:
        with Image.open(path) as image:
            if image.mode in ("RGBA", "LA", "PA", "P"):
                image = image.convert("RGBA")
                flat = Image.new("RGBA", image.size, (0, 0, 0, 255))
                image = Image.alpha_composite(flat, image)
            gray = np.asarray(image.convert("L"), dtype=np.float32)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise UserError(f"{path}: cannot read as PNG ({exc.__class__.__name__})") from None
    return np.where(gray > 127.5, 1.0, -1.0)
