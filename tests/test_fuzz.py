"""Fuzz: malformed configs, flags and files fed to every command give one line and exit 2.

A seeded generator (``random.Random(SEED)``) draws the cases: type-wrong, non-finite, too large
or unknown config values, TOML broken at random places, malformed ``--set`` and flags, forged
image files and run folders that are not what they claim. Each case runs in-process through
click's CliRunner (no subprocess: most cases fail before torch loads) in its own empty working
folder, and must end with exit code 2, exactly one line ``tsearch: error: ...`` on stderr, no
traceback, no new file or folder (no half-made run folder) and nothing changed outside it.
"""

from __future__ import annotations

import json
import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import snapshot

from tsearch.cli import main

SEED = 20261201
N_CONFIG_CASES = 90
N_TOML_CASES = 20

# Tiny but complete configs: a case wrongly accepted would still end in seconds.
RUN = {
    "run": {"seed": 0, "n": 2, "name": "fuzz"},
    "target": {"kind": "dots", "side": 4, "k": 1},
    "model": {"kind": "mlp", "width": 16, "depth": 1, "time_dim": 8},
    "diffusion": {"kind": "ou", "t_min": 0.001, "t_max": 2.0},
    "train": {"steps": 4, "batch_size": 4, "lr": 0.002, "n_checkpoints": 1, "first_checkpoint": 4},
    "sampler": {"kind": "reverse_sde", "n_steps": 3, "n_samples": 4},
    "metrics": {"n_bootstrap": 0, "reference_samples": 8},
}
SWEEP = {**RUN, "sweep": {"grid": {"run.seed": [0, 1]}}}
EVOLVE = {**RUN,
          "target": {"kind": "polygons", "side": 8, "max_vertices": 4, "min_area": 4.0},
          "search": {"strategy": "random", "generations": 1, "population": 2, "n_min": 1, "n_max": 2,
                     "size_grid": [1, 2], "baseline_repeats": 1, "reevaluate_seeds": 1}}
BASES = {"run": RUN, "sweep": SWEEP, "evolve": EVOLVE, "validate": RUN}

# keys whose values are counts of work: a huge one must be refused before anything starts
COUNT_KEYS = {"train.steps", "train.batch_size", "sampler.n_samples", "sampler.n_steps", "run.n",
              "metrics.reference_samples", "search.population", "search.generations"}


# ----------------------------------------------------------------------------- TOML
def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(value, "nan" if value != value else repr(value))
    if isinstance(value, (int, str)):
        return json.dumps(value) if isinstance(value, str) else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def to_toml(config: dict) -> str:
    lines = []
    for table, body in config.items():
        scalars = {k: v for k, v in body.items() if not isinstance(v, dict) or table != "sweep"}
        lines.append(f"[{table}]")
        lines += [f"{json.dumps(k) if '.' in k else k} = {toml_value(v)}" for k, v in scalars.items()]
        for name, sub in body.items():
            if isinstance(sub, dict) and table == "sweep":
                lines.append(f"[{table}.{name}]")
                lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in sub.items()]
    return "\n".join(lines) + "\n"


def bad_values(dotted: str, value, rng: random.Random) -> list:
    """Values that are wrong for this key whatever the schema's bounds."""
    wrong = [{"table": 1}, [[1], [2]]]
    if isinstance(value, bool):
        return wrong + ["yes", 3]
    if isinstance(value, float):
        return wrong + [float("inf"), float("-inf"), float("nan"), "fast"]
    if isinstance(value, int):
        huge = [10 ** 12, 10 ** 15] if dotted in COUNT_KEYS else []
        return wrong + [2.5, "many", -(10 ** 9), float("inf")] + huge
    if isinstance(value, str):  # a name is free text; a kind or strategy must be registered
        names = [f"no_such_{rng.randrange(1000)}"] if dotted.endswith(("kind", "strategy")) else []
        return wrong + [7] + names
    if isinstance(value, list):
        return [{"table": 1}, "text", [float("nan")], []] if dotted != "search.size_grid" else [[-1], ["a"]]
    return wrong


# ----------------------------------------------------------------------------- cases
@dataclass
class Case:
    name: str
    command: str
    args: list = field(default_factory=list)  # "{cfg}", "{dir}" and "{file}" are filled in
    config: str | None = None  # TOML text written to cfg.toml
    files: dict = field(default_factory=dict)  # relative path -> bytes | "dir" | callable(path)


def config_cases(rng: random.Random) -> list[Case]:
    cases = []
    for i in range(N_CONFIG_CASES):
        command = rng.choice(["run", "sweep", "evolve", "validate"])
        config = json.loads(json.dumps(BASES[command]))
        table = rng.choice([t for t in config if t != "sweep"])
        how = rng.random()
        if how < 0.1:
            config[table][f"unknown_{rng.randrange(100)}"] = 1
            what = f"unknown key in [{table}]"
        elif how < 0.15:
            config[f"table_{rng.randrange(100)}"] = {"x": 1}
            what = "unknown table"
        else:
            key = rng.choice(list(config[table]))
            value = rng.choice(bad_values(f"{table}.{key}", config[table][key], rng))
            config[table][key] = value
            what = f"{table}.{key}={toml_value(value)}"
        via_set = rng.random() < 0.3 and how >= 0.15
        if via_set:  # the same mistake given on the command line instead
            good = BASES[command]
            args = ["{cfg}", "--set", f"{table}.{key}={toml_value(config[table][key])}"]
            text = to_toml(good)
        else:
            args, text = ["{cfg}"], to_toml(config)
        if command == "validate":
            args.append("{images}")
        cases.append(Case(f"config{i}-{command}-{'set-' if via_set else ''}{what}", command, args, text))
    return cases


def broken_toml_cases(rng: random.Random) -> list[Case]:
    cases, text = [], to_toml(RUN)
    while len(cases) < N_TOML_CASES:
        cut = rng.randrange(1, len(text))
        variant = rng.choice(["cut", "garbage", "duplicate", "bytes"])
        if variant == "cut":
            broken = text[:cut]
        elif variant == "garbage":
            broken = text[:cut] + rng.choice(["= =", "[[", "]", "\"", "key", "=\n", "{"]) + text[cut:]
        elif variant == "duplicate":
            line = rng.choice([ln for ln in text.splitlines() if "=" in ln])
            broken = text + f"\n[{rng.choice(list(RUN))}]\n{line}\n{line}\n"
        else:
            broken = text[:cut] + "\udcff"  # an invalid UTF-8 byte once encoded with surrogateescape
        try:
            tomllib.loads(broken)
            continue  # still valid TOML (or a valid config): not a malformed case
        except (tomllib.TOMLDecodeError, UnicodeError):
            pass
        command = rng.choice(["run", "sweep", "evolve"])
        cases.append(Case(f"toml{len(cases)}-{command}-{variant}", command, ["{cfg}"], broken))
    return cases


def flag_cases() -> list[Case]:
    """Usage mistakes and paths that are not what a command needs, for every command."""
    run = to_toml(RUN)
    cases = []
    for command in ["run", "sweep", "evolve"]:
        cfg = to_toml(BASES[command])
        cases += [
            Case(f"flags-{command}-set-without-equals", command, ["{cfg}", "--set", "train.steps"], cfg),
            Case(f"flags-{command}-set-unknown-key", command, ["{cfg}", "--set", "train.stepz=3"], cfg),
            Case(f"flags-{command}-set-empty-value", command, ["{cfg}", "--set", "train.steps="], cfg),
            Case(f"flags-{command}-unknown-option", command, ["{cfg}", "--bogus"], cfg),
            Case(f"flags-{command}-missing-option-value", command, ["{cfg}", "--out"], cfg),
            Case(f"flags-{command}-extra-argument", command, ["{cfg}", "extra", "more"], cfg),
            Case(f"flags-{command}-config-missing", command, ["{dir}/none.toml"]),
            Case(f"flags-{command}-config-is-a-folder", command, ["{dir}/folder"], None, {"folder": "dir"}),
            Case(f"flags-{command}-out-not-empty", command, ["{cfg}", "--out", "{dir}/full"], cfg,
                 {"full/keep.txt": b"mine"}),
            Case(f"flags-{command}-out-is-a-file", command, ["{cfg}", "--out", "{dir}/afile"], cfg,
                 {"afile": b"x"}),
        ]
    for command in ["sweep", "evolve"]:
        cases += [
            Case(f"resume-{command}-missing", command, ["--resume", "{dir}/nowhere"]),
            Case(f"resume-{command}-a-file", command, ["--resume", "{dir}/afile"], None, {"afile": b"x"}),
            Case(f"resume-{command}-empty-folder", command, ["--resume", "{dir}/empty"], None, {"empty": "dir"}),
            Case(f"resume-{command}-junk-run-json", command, ["--resume", "{dir}/r"], None,
                 {"r/run.json": b"{not json", "r/config.json": b"{}"}),
            Case(f"resume-{command}-run-json-a-list", command, ["--resume", "{dir}/r"], None,
                 {"r/run.json": b"[1, 2]", "r/config.json": b"{}"}),
            Case(f"resume-{command}-unknown-kind", command, ["--resume", "{dir}/r"], None,
                 {"r/run.json": b'{"kind": "nope"}', "r/config.json": b"{}"}),
            Case(f"resume-{command}-with-config", command, ["{cfg}", "--resume", "{dir}/empty"],
                 to_toml(BASES[command]), {"empty": "dir"}),
        ]
    cases += [
        Case("flags-evolve-executor-choice", "evolve", ["{cfg}", "--executor", "slurm"], to_toml(EVOLVE)),
        Case("flags-unknown-command", "frobnicate", []),
        Case("report-missing", "report", ["{dir}/nowhere"]),
        Case("report-empty-folder", "report", ["{dir}/empty"], None, {"empty": "dir"}),
        Case("report-a-file", "report", ["{dir}/afile"], None, {"afile": b"x"}),
        Case("report-unknown-kind", "report", ["{dir}/r"], None,
             {"r/run.json": b'{"kind": "nope"}', "r/config.json": b"{}"}),
        Case("report-junk-run-json", "report", ["{dir}/r"], None, {"r/run.json": b"\xff\xfe", "r/config.json": b"{}"}),
        Case("report-no-argument", "report", []),
        Case("validate-missing-images", "validate", ["{cfg}", "{dir}/none.npz"], run),
        Case("validate-no-arguments", "validate", []),
        Case("bench-bad-choice", "bench", ["--device", "tpu"]),
        Case("bench-bad-count", "bench", ["--tasks", "0"]),
    ]
    # a dotted --set into a scalar, a seed beyond int64: in --dry-run and in a real run alike
    for command in ("run", "sweep", "evolve"):
        cfg = to_toml(BASES[command])
        for dry in ([], ["--dry-run"]):
            tag = "-dry-run" if dry else ""
            cases += [
                Case(f"set-into-a-scalar-{command}{tag}", command, ["{cfg}", "--set", "train.lr.x=1", *dry], cfg),
                Case(f"seed-too-large-{command}{tag}", command,
                     ["{cfg}", "--set", "run.seed=100000000000000000000000", *dry], cfg),
                Case(f"seed-negative-{command}{tag}", command, ["{cfg}", "--set", "run.seed=-1", *dry], cfg),
            ]
    # export and report on a folder that holds only run.json and config.json: nothing recorded
    started = started_folder()
    cases += [Case(f"{command}-nothing-recorded", command, ["{dir}/r"], None, started)
              for command in ("export", "report")]
    cases.append(Case("status-not-a-run-folder", "status", ["{dir}/empty"], None, {"empty": "dir"}))
    return cases


def started_folder() -> dict:
    """A run folder killed before its first evaluation: run.json and config.json only."""
    from tsearch.config import config_from_dict, config_to_dict
    from tsearch.store.provenance import config_hash

    config = config_from_dict(tomllib.loads(to_toml(RUN)))
    resolved = config_to_dict(config)
    meta = {"kind": "run", "config_sha256": config_hash(config), "config": resolved}
    return {"r/run.json": json.dumps(meta).encode(), "r/config.json": json.dumps(resolved).encode()}


def forged_images(rng: random.Random) -> list[Case]:
    import io
    import struct
    import zipfile
    import zlib

    from numpy.lib import format as npy_format

    def npy(shape, descr="<f4", tail=b"\0" * 32):
        buffer = io.BytesIO()
        npy_format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
        return buffer.getvalue() + tail

    def npz(members):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, raw in members.items():
                archive.writestr(name, raw)
        return buffer.getvalue()

    def png(width, height):
        def chunk(kind, body):
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(b"\0" * 8)) + chunk(b"IEND", b""))

    images = {
        "huge-header.npz": npz({"images.npy": npy((60000, 32768, 32768), "|u1")}),
        "lying-header.npy": npy((50, 4, 4)),
        "objects.npy": npy((1, 4, 4), "|O"),
        "no-images.npz": npz({"labels.npy": npy((1,))}),
        "bomb.png": png(20000, 20000),
        "big.png": png(5000, 5000),
        "garbage.npz": bytes(rng.randrange(256) for _ in range(200)),
        "empty.npz": b"",
        "truncated-zip.npz": npz({"images.npy": npy((1, 4, 4), tail=b"\0" * 64)})[:-30],
        "complex.npy": npy((1, 4, 4), "<c8", tail=b"\0" * 128),
    }
    text = to_toml(RUN)
    return [Case(f"images-{name}", "validate", ["{cfg}", f"{{dir}}/{name}"], text, {name: raw})
            for name, raw in images.items()]


def all_cases() -> list[Case]:
    rng = random.Random(SEED)
    return config_cases(rng) + broken_toml_cases(rng) + flag_cases() + forged_images(rng)


CASES = all_cases()


# ----------------------------------------------------------------------------- the check


def materialize(case: Case, folder: Path) -> list[str]:
    for relative, content in case.files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == "dir":
            path.mkdir(exist_ok=True)
        else:
            path.write_bytes(content)
    if case.config is not None:
        (folder / "cfg.toml").write_bytes(case.config.encode("utf-8", "surrogateescape"))
    images = folder / "images.npz"
    np.savez(images, images=np.where(np.eye(4)[None] > 0, 1, 0).astype(np.uint8))
    fill = {"{cfg}": str(folder / "cfg.toml"), "{images}": str(images)}
    args = []
    for arg in case.args:
        for key, value in fill.items():
            arg = arg.replace(key, value)
        args.append(arg.replace("{dir}", str(folder)))
    return [case.command, *args] if case.command else args


def test_the_base_configs_are_valid(tmp_path):
    """Every case is one mistake away from a config that loads: the mistake is what fails."""
    from tsearch.config import load_config
    for command, base in BASES.items():
        (tmp_path / f"{command}.toml").write_text(to_toml(base))
        load_config(tmp_path / f"{command}.toml")


def test_the_generator_makes_enough_distinct_cases():
    assert len(CASES) >= 100 and len({c.name for c in CASES}) == len(CASES)
    assert {c.command for c in CASES} >= {"run", "sweep", "evolve", "report", "validate", "bench"}
    assert [c.name for c in all_cases()] == [c.name for c in CASES]  # seeded: the same every time


@pytest.mark.timeout(120)  # a case wrongly accepted would start a (tiny) run
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_input_is_one_line_exit_2_and_leaves_nothing(case, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    args = materialize(case, work)
    monkeypatch.chdir(work)  # a default results/ folder would appear here
    before, outside = snapshot(work), snapshot(tmp_path.parent, contents=False)
    result = CliRunner().invoke(main, args)
    lines = result.stderr.strip().splitlines()
    detail = f"{args}: exit {result.exit_code}, stderr {result.stderr[-600:]!r}, exception {result.exception!r}"
    assert result.exit_code == 2, detail
    assert len(lines) == 1 and lines[0].startswith("tsearch: error: "), detail
    assert "Traceback" not in result.output, detail
    assert snapshot(work) == before, f"{detail}; left {sorted(set(snapshot(work)) - set(before))}"
    changed = {k for k, v in snapshot(tmp_path.parent, contents=False).items() if outside.get(k) != v
               and not k.startswith(tmp_path.name)}
    assert not changed, f"{detail}; touched outside its folder: {sorted(changed)[:5]}"
