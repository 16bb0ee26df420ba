"""Progress a batch job can read: plain lines without a terminal, a bar with one; the evolve bar
has a stage of its own for the fresh-seed re-evaluation."""

from __future__ import annotations

import io
import subprocess
import sys

from tiny import tiny_toml

from tsearch.runs.progress import LiveDisplay, progress

TINY = tiny_toml(n_bootstrap=0) + """
[sweep.grid]
"run.n" = [2, 4]
"run.seed" = [0, 1]
[search]
generations = 2
population = 3
n_min = 1
n_max = 3
size_grid = [2]
baseline_repeats = 1
reevaluate_seeds = 1
"""


def tsearch(*args) -> subprocess.CompletedProcess:
    """The CLI with stderr piped: not a terminal, as in a batch job."""
    out = subprocess.run([sys.executable, "-c", "from tsearch.cli import main; main()", *map(str, args)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out


def test_evolve_without_a_terminal_logs_one_line_per_generation(tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY)
    err = tsearch("evolve", tmp_path / "tiny.toml", "--out", tmp_path / "run").stderr
    assert "\r" not in err
    lines = err.splitlines()
    generations = [line for line in lines if line.startswith("evolve: generation ")]
    assert [line.split()[2] for line in generations] == ["1/5", "2/5", "3/5", "4/5", "5/5"]  # baseline + 2 + control 2
    for line in generations:
        assert "phase=" in line and "best g=" in line and "front=" in line and "hv=" in line
    logbook = (tmp_path / "run" / "logbook.jsonl").read_text().splitlines()
    assert len(generations) == len(logbook)
    reevaluated = [line for line in lines if line.startswith("reevaluate: evaluation ")]
    assert reevaluated and reevaluated[-1].split()[2] == f"{len(reevaluated)}/{len(reevaluated)}"


def test_quiet_sweep_keeps_one_line_per_evaluation(tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY)
    err = tsearch("sweep", tmp_path / "tiny.toml", "--out", tmp_path / "run", "--quiet").stderr
    assert "\r" not in err
    done = [line for line in err.splitlines() if line.startswith("sweep: evaluation ")]
    assert [line.split()[2] for line in done] == ["1/4", "2/4", "3/4", "4/4"]
    assert all(" steps | " in line and "left" in line for line in done)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_the_bar_covers_the_reevaluation(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    display = LiveDisplay("g")
    display.start(2, 0)
    for generation in range(2):
        display.evaluating(1)
        display.evaluated()
        display.generation({"phase": "search", "generation": generation, "front_size": 1,
                            "best": {"value": 0.5, "size": 2}, "hypervolume": 0.25,
                            "evaluations": 1, "cached": 0, "failures": 0})
    display.reevaluating(3)
    for _ in range(3):
        display.evaluated()
    display.close()
    shown = screen.getvalue()
    assert "evolve: 100%" in shown and "hv=0.250" in shown
    assert "reevaluate: 100%" in shown and "3/3" in shown.split("reevaluate:")[-1]
    assert "evolve: generation" not in shown  # no log lines under a bar


def test_on_a_terminal_quiet_gives_lines_not_a_bar(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with progress(10, 2, "sweep", show_progress="lines") as shown:
        shown.advance(5)
        shown.finished("a")
        shown.advance(5)
        shown.finished("b")
    lines = screen.getvalue().splitlines()
    assert [line.split(" | ")[0] for line in lines] == ["sweep: evaluation 1/2 done (a)",
                                                        "sweep: evaluation 2/2 done (b)"]
    assert "\r" not in screen.getvalue()
