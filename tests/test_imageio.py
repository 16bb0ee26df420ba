"""tsearch.imageio: declared sizes are checked before anything is loaded (forged headers)."""

import io
import os
import struct
import zipfile
import zlib

import numpy as np
import pytest
from numpy.lib import format as npy_format
from PIL import Image

from tsearch import imageio
from tsearch.errors import UserError
from tsearch.imageio import load_images


def npy_bytes(shape, descr="<f4", data=b"\0" * 64):
    """An .npy file whose header declares ``shape`` followed by only ``data``."""
    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + data  # the header writer also writes the magic string


def npz_with(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, raw in members.items():
            archive.writestr(name, raw)


def png_header_only(path, width, height):
    """A PNG whose IHDR declares width x height, with one tiny IDAT: what a bomb looks like."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 8))
                     + chunk(b"IEND", b""))


def one_line_error(path, *needles):
    with pytest.raises(UserError) as info:
        load_images(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)), message
    for needle in needles:
        assert needle in message, message
    return message


def test_an_npz_header_claiming_58_tib_is_refused_before_loading(tmp_path):
    path = tmp_path / "huge.npz"
    npz_with(path, {"images.npy": npy_bytes((60000, 32768, 32768), descr="|u1")})  # 58 TiB
    one_line_error(path, "declares shape (60000, 32768, 32768)", "the limit is 67,108,864")


def test_a_header_claiming_more_than_the_file_holds_is_refused(tmp_path):
    path = tmp_path / "short.npy"
    path.write_bytes(npy_bytes((100, 64, 64)))  # 1.6 MB declared, 64 bytes held
    one_line_error(path, "1,638,400 bytes", "holds 64 bytes", "truncated or altered")
    npz = tmp_path / "short.npz"
    npz_with(npz, {"images.npy": npy_bytes((100, 64, 64))})
    one_line_error(npz, "truncated or altered")


def test_an_object_array_and_a_missing_member_are_refused(tmp_path):
    path = tmp_path / "objects.npy"
    path.write_bytes(npy_bytes((1, 2, 2), descr="|O"))
    one_line_error(path, "Python objects")
    npz = tmp_path / "other.npz"
    npz_with(npz, {"labels.npy": npy_bytes((1,))})
    one_line_error(npz, "no array named 'images' (found: labels)")


def test_a_sound_npz_still_loads(tmp_path):
    images = np.zeros((3, 4, 5), dtype=np.uint8)
    images[:, 1, 2] = 1
    np.savez_compressed(tmp_path / "ok.npz", images=images)
    loaded = load_images(tmp_path / "ok.npz")
    assert loaded.shape == (3, 4, 5) and loaded.dtype == np.float32
    assert (loaded[:, 1, 2] == 1).all() and (loaded.sum() == -3 * 20 + 2 * 3)


@pytest.mark.parametrize("side, needle", [(20000, "more pixels than Pillow accepts"),
                                          (5000, "declares 5000x5000 = 25,000,000 pixels")])
def test_a_png_declaring_too_many_pixels_is_refused_before_decoding(tmp_path, side, needle):
    path = tmp_path / "bomb.png"
    png_header_only(path, side, side)
    one_line_error(path, needle)
    folder = tmp_path / "pngs"
    folder.mkdir()
    png_header_only(folder / "a.png", side, side)
    one_line_error(folder / "a.png", needle)
    with pytest.raises(UserError, match="a.png"):
        load_images(folder)


def test_a_folder_of_pngs_too_many_pixels_in_total(tmp_path, monkeypatch):
    monkeypatch.setattr(imageio, "MAX_PIXELS", 100)
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i in range(5):
        Image.new("L", (5, 5)).save(folder / f"{i}.png")
    message = one_line_error(folder, "5 PNGs of 5x5 = 125 pixels")
    assert "limit is 100" in message


def test_a_fifo_is_not_read(tmp_path):
    os.mkfifo(tmp_path / "pipe.npz")
    one_line_error(tmp_path / "pipe.npz", "not a regular file")
