"""``tsearch validate`` and image loading: good inputs give JSON lines, bad ones one error line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import invoke
from PIL import Image

from tsearch.errors import UserError
from tsearch.imageio import load_images

DOTS = "[target]\nkind = \"dots\"\nside = 4\nk = 1\n"


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "dots.toml"
    path.write_text(DOTS)
    return path


def dot_images() -> np.ndarray:
    """(3, 4, 4) in {0, 1}: one dot, two dots (invalid), one dot."""
    images = np.zeros((3, 4, 4), np.uint8)
    images[0, 1, 1] = images[1, 0, 0] = images[1, 3, 3] = images[2, 2, 3] = 1
    return images


def lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines()]


def assert_user_error(result, *needles):
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    message = result.output.strip()
    assert message.count("\n") == 0 and message.startswith("tsearch: error: ")
    assert "Traceback" not in message
    for needle in needles:
        assert needle in message


def test_npz_gives_one_json_line_per_image(tmp_path, config):
    np.savez(tmp_path / "x.npz", images=dot_images())
    result = invoke("validate", config, tmp_path / "x.npz")
    assert result.exit_code == 0, result.output
    assert lines(result.output) == [{"index": 0, "valid": True, "reason": "ok"},
                                    {"index": 1, "valid": False, "reason": "wrong_count"},
                                    {"index": 2, "valid": True, "reason": "ok"}]


def test_folder_of_pngs_sorted_by_name(tmp_path, config):
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, im in enumerate(dot_images()):
        mode = ("L", "RGB", "RGBA")[i]
        Image.fromarray(im * 255).convert(mode).save(folder / f"im{2 - i}.png")  # reversed names
    (folder / "notes.txt").write_text("ignored")
    result = invoke("validate", config, folder)
    assert result.exit_code == 0, result.output
    assert [r["valid"] for r in lines(result.output)] == [True, False, True]


def test_set_override_changes_the_target(tmp_path, config):
    np.savez(tmp_path / "x.npz", images=dot_images())
    result = invoke("validate", config, tmp_path / "x.npz", "--set", "target.k=2")
    assert [r["valid"] for r in lines(result.output)] == [False, True, False]


def test_wrong_shape_names_file_and_shapes(tmp_path, config):
    np.savez(tmp_path / "big.npz", images=np.zeros((2, 5, 5)))
    assert_user_error(invoke("validate", config, tmp_path / "big.npz"), "big.npz", "5x5", "4x4")


@pytest.mark.parametrize("content, needle", [
    ({"images": np.full((1, 4, 4), np.nan)}, "NaN"),
    ({"images": np.full((1, 4, 4), 7.0)}, "expected {0, 1}"),
    ({"images": np.zeros((4, 4))}, "shape (4, 4)"),
    ({"other": np.zeros((1, 4, 4))}, "no array named 'images'"),
    ({"images": np.array(["a", "b"]).reshape(1, 1, 2)}, "dtype"),
])
def test_bad_npz_is_one_line(tmp_path, config, content, needle):
    np.savez(tmp_path / "bad.npz", **content)
    assert_user_error(invoke("validate", config, tmp_path / "bad.npz"), "bad.npz", needle)


def test_missing_corrupt_and_empty_inputs(tmp_path, config):
    assert_user_error(invoke("validate", config, tmp_path / "nope.npz"), "nope.npz", "no such file")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not a zip")
    assert_user_error(invoke("validate", config, tmp_path / "junk.npz"), "junk.npz", "cannot read")
    (tmp_path / "empty").mkdir()
    assert_user_error(invoke("validate", config, tmp_path / "empty"), "empty", "no .png")


def test_png_problems_name_the_file(tmp_path):
    folder = tmp_path / "pngs"
    folder.mkdir()
    Image.new("L", (4, 4)).save(folder / "a.png")
    Image.new("L", (5, 4)).save(folder / "b.png")
    with pytest.raises(UserError, match="b.png"):
        load_images(folder)
    (folder / "b.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(UserError, match="b.png.*cannot read"):
        load_images(folder)


def test_bad_config_key_is_one_line(tmp_path, config):
    np.savez(tmp_path / "x.npz", images=dot_images())
    assert_user_error(invoke("validate", config, tmp_path / "x.npz", "--set", "target.colour=3"), "colour")
    assert_user_error(invoke("validate", tmp_path / "none.toml", tmp_path / "x.npz"), "none.toml")


def test_value_ranges_are_binarized_alike(tmp_path):
    bits = dot_images()
    for name, values in [("01", bits), ("255", bits * 255), ("pm1", bits * 2.0 - 1),
                         ("soft", bits * 1.2 - 0.6), ("bool", bits.astype(bool))]:
        np.savez(tmp_path / f"{name}.npz", images=values)
        loaded = load_images(tmp_path / f"{name}.npz")
        assert loaded.dtype == np.float32
        np.testing.assert_array_equal(loaded, np.where(bits, 1.0, -1.0))


def test_subprocess_exit_code_and_stderr(tmp_path, config):
    np.savez(tmp_path / "bad.npz", images=np.full((1, 4, 4), np.inf))
    proc = subprocess.run([sys.executable, "-c", "from tsearch.cli import main; main()", "validate",
                           str(config), str(tmp_path / "bad.npz")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == "" and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_chance_of_single_dots_from_the_images_areas(config):
    """Every one-pixel blob is a valid single dot; the two-dot image's area 2 makes a blob of
    two touching pixels, never valid: 2 of 3 areas -> chance 2/3 over 300 cycled blobs."""
    path = config.parent / "dots.npz"
    np.savez(path, images=dot_images())
    result = invoke("validate", config, path, "--chance", "--blobs", 300)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["chance_valid"] == pytest.approx(2 / 3) and out["blobs"] == 300
    assert out["images_valid"] == pytest.approx(2 / 3) and out["areas_from"] == "images"
    lo, hi = out["interval"]
    assert lo < 2 / 3 < hi


def test_chance_without_images_uses_target_samples(config):
    result = invoke("validate", config, "--chance", "--blobs", 50)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["chance_valid"] == 1.0 and out["areas_from"] == "target samples"


def test_neither_images_nor_chance_is_a_user_error(config):
    result = invoke("validate", config)
    assert result.exit_code == 2 and result.output.startswith("tsearch: error: give IMAGES")
