"""Loading user images: an .npz (array ``images``), an .npy, or PNG files, as (N, H, W) ±1.

Accepted pixel values: {0, 1}, {0, 255} or floats in [-1, 1] for arrays (binarized at 0,
or at 127.5 for {0, 255}); any PNG mode, white = bright (luminance above 127.5). Every
problem is a UserError of one line naming the file.

Sizes are checked before anything is loaded: an array's declared shape (the .npy header,
also inside an .npz, read without the data) must fit ``MAX_PIXELS`` and the bytes the file
really holds, and a PNG's declared width x height (read lazily by Pillow) must fit
``MAX_PNG_PIXELS``: a forged header cannot make the loader allocate terabytes.
"""

from __future__ import annotations

import math
import os
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from .errors import UserError

MAX_PIXELS = 1 << 26  # all images (or arrays) of a file together: 512 MiB as float64; a forged
# header declaring more is refused before any work (2^28 took 5 GB and hours in validate)
MAX_PNG_PIXELS = 1 << 24  # one PNG: 4096 x 4096


def load_images(path: str | Path) -> np.ndarray:
    """(N, H, W) float32 in {-1, +1} from an .npz/.npy file, one PNG, or a folder of PNGs."""
    path = Path(path)
    if path.is_dir():
        return _load_png_folder(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if not path.is_file():  # a FIFO or a device could block or never end
        raise UserError(f"{path}: not a regular file")
    if path.suffix.lower() == ".png":
        return _load_png(path)[None].astype(np.float32)
    return _binarize(_read_array(path), path)


def _read_array(path: Path) -> np.ndarray:
    try:
        _check_declared_array(path)
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):
            return data
        with data:
            if "images" not in data.files:
                raise UserError(f"{path}: no array named 'images' (found: {', '.join(data.files) or 'none'})")
            return data["images"]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
            RuntimeError) as exc:  # RuntimeError: an encrypted zip; NotImplementedError: its method
        raise UserError(f"{path}: cannot read as .npz or .npy ({exc.__class__.__name__})") from None


def read_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of an .npz a run folder holds (samples, training sets), checked as
    :func:`load_images` checks its images: declared sizes (all members together) within
    ``MAX_PIXELS`` and within the bytes the file holds, numbers only; any problem (truncated,
    replaced, forged) is one UserError naming the file."""
    path = Path(path)
    try:
        if not zipfile.is_zipfile(path):
            raise UserError(f"{path}: not an .npz archive (truncated or replaced)")
        with zipfile.ZipFile(path) as archive:
            declared = 0
            for info in archive.infolist():
                with archive.open(info) as fh:
                    declared += _check_header(fh, info.file_size, path)
            if declared > MAX_PIXELS:
                raise UserError(f"{path}: declares {declared:,} values; the limit is {MAX_PIXELS:,}")
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
            RuntimeError) as exc:
        raise UserError(f"{path}: cannot read as .npz ({_why(exc)})") from None
    for name, array in arrays.items():
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise UserError(f"{path}: array {name!r} of dtype {array.dtype}; expected numbers")
    return arrays


def _check_declared_array(path: Path) -> None:
    """The array's header, read without its data, declares a shape that fits the limits and
    the bytes the file holds (an .npz: its member ``images.npy``)."""
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as fh:
            _check_header(fh, os.fstat(fh.fileno()).st_size, path)
        return
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if "images.npy" not in names:
            found = ", ".join(n.removesuffix(".npy") for n in names) or "none"
            raise UserError(f"{path}: no array named 'images' (found: {found})")
        with archive.open("images.npy") as fh:
            _check_header(fh, archive.getinfo("images.npy").file_size, path)


def _check_header(fh, size: int, path: Path) -> int:
    """The number of values the array declares, once checked."""
    shape, dtype = _read_header(fh, path)
    if dtype.hasobject:
        raise UserError(f"{path}: an array of Python objects, not images")
    count = math.prod(shape)
    if count > MAX_PIXELS:
        raise UserError(f"{path}: declares shape {shape} = {count:,} pixels; "
                        f"the limit is {MAX_PIXELS:,} ({MAX_PIXELS * 8 / 2**30:g} GiB as float64)")
    header = fh.tell()
    if count * dtype.itemsize > size - header:
        raise UserError(f"{path}: declares shape {shape} ({count * dtype.itemsize:,} bytes) but holds "
                        f"{max(size - header, 0):,} bytes: truncated or altered")
    return count


def _read_header(fh, path: Path) -> tuple[tuple[int, ...], np.dtype]:
    try:
        version = npy_format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = npy_format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = npy_format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"npy format version {version}")
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        raise UserError(f"{path}: cannot read as .npz or .npy ({_why(exc)})") from None
    return tuple(int(n) for n in shape), dtype


def _why(exc: Exception) -> str:
    text = str(exc).splitlines()
    return f"{type(exc).__name__}: {text[0][:80]}" if text else type(exc).__name__


def _binarize(x: np.ndarray, path: Path) -> np.ndarray:
    if x.ndim != 3 or 0 in x.shape:
        raise UserError(f"{path}: images of shape {x.shape}; expected (N, H, W) with N, H, W >= 1")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise UserError(f"{path}: images of dtype {x.dtype}; expected numbers")
    if np.issubdtype(x.dtype, np.complexfloating):  # astype would drop the imaginary part
        raise UserError(f"{path}: images of dtype {x.dtype}; expected real numbers")
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
    width, height = _png_size(files[0])
    if len(files) * width * height > MAX_PIXELS:
        raise UserError(f"{folder}: {len(files)} PNGs of {width}x{height} = {len(files) * width * height:,} "
                        f"pixels; the limit is {MAX_PIXELS:,}")
    images = [_load_png(files[0])]
    for file in files[1:]:
        images.append(_load_png(file))
        if images[-1].shape != images[0].shape:
            raise UserError(f"{file}: size {images[-1].shape[::-1]} differs from "
                            f"{files[0].name}'s {images[0].shape[::-1]} (width, height)")
    return np.stack(images).astype(np.float32)


def _png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the PNG header, without decoding the pixels."""
    with _open_png(path) as image:
        return image.size


def _open_png(path: Path):
    """Pillow's lazy ``Image.open`` (header only) with our size limit; one-line errors."""
    from PIL import Image, UnidentifiedImageError  # pillow only when PNGs are read

    try:
        with warnings.catch_warnings():  # Pillow's bomb warning would print several lines
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(f"{path}: declares more pixels than Pillow accepts "
                        f"(the limit is {MAX_PNG_PIXELS:,})") from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise UserError(f"{path}: cannot read as PNG ({exc.__class__.__name__})") from None
    width, height = image.size
    if width * height > MAX_PNG_PIXELS:
        image.close()
        raise UserError(f"{path}: declares {width}x{height} = {width * height:,} pixels; "
                        f"the limit is {MAX_PNG_PIXELS:,}")
    return image


def _load_png(path: Path) -> np.ndarray:
    """(H, W) ±1 from any PNG mode; transparent pixels count as black."""
    from PIL import Image, UnidentifiedImageError  # pillow only when PNGs are read

    try:
        with _open_png(path) as image:
            if image.mode in ("RGBA", "LA", "PA", "P"):
                image = image.convert("RGBA")
                flat = Image.new("RGBA", image.size, (0, 0, 0, 255))
                image = Image.alpha_composite(flat, image)
            gray = np.asarray(image.convert("L"), dtype=np.float32)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise UserError(f"{path}: cannot read as PNG ({exc.__class__.__name__})") from None
    return np.where(gray > 127.5, 1.0, -1.0)
