"""``tsearch status DIR``: where a run folder stands, read from the folder alone (never locked).

    kind, config name, phase and generation, evaluations done / planned by phase, failed,
    the best fitness so far (in-search and, once re-evaluated, fresh), the lock holder or
    "idle", the last record's time, and an ETA from the folder's own rate

The rate is the folder's own: record.json keeps the times of the writer's last appends
(tsearch.store.integrity); the ETA is the evaluations left at that rate, "unknown" when fewer
than three appends of the current writer are known. Planned counts of a search are upper
bounds (training sets already evaluated are not evaluated again: tsearch.runs.estimate).
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

from ..config.grid import expand_grid
from ..store import integrity, layout, lock
from ..store.folder import RunFolder
from ..store.records import ERRORS, EVALUATIONS, malformed
from ..tasks import best_record, fitness_record
from .estimate import evolve_phases
from .evolve_state import complete

MIN_APPENDS = 3  # appends of one writer needed to call a rate a rate


def status(run_dir: str | Path) -> dict:
    """The folder's status as JSON-able data (the text of :func:`render` is built from it)."""
    folder = RunFolder.read(run_dir)  # a record cut short is refused here too
    kind = folder.meta["kind"]
    mark = _mark(folder.path)  # read before the record: a writer appending meanwhile only adds
    holder = lock.holder(folder.path)
    record = folder.path / (layout.METRICS if kind == "run" else EVALUATIONS)
    with malformed(record, "record (a field of the wrong type)"):
        out = {"folder": str(folder.path), "kind": kind, "config": name_of(folder),
               "created": folder.meta.get("created"), "lock": holder, **READERS[kind](folder)}
    with malformed(folder.path / ERRORS, "record (a field of the wrong type)"):
        out["failed"] = len(folder.records(ERRORS, key=lambda r: r.get("task_id")))
    out["last_record"] = _last_record(folder.path, kind)
    out["eta"] = eta(out, mark, running=holder is not None)
    return out


def name_of(folder: RunFolder) -> str:
    return folder.config.run.name or folder.path.name


def _run(folder: RunFolder) -> dict:
    records = folder.records(layout.METRICS, key=lambda r: r["step"])
    finished = (folder.path / layout.SUMMARY).is_file()
    best = best_record(records) if records else None
    return {"phase": "finished" if finished else ("failed" if (folder.path / layout.ERROR).is_file()
                                                  else "run"),
            "finished": finished, "done": {"run": int(finished)}, "planned": {"run": 1},
            "best": None if best is None else {"metric": "g", "value": best.get("g"), "step": best["step"]}}


def _sweep(folder: RunFolder) -> dict:
    planned = folder.meta.get("n_points") or len(expand_grid(folder.config))
    lines = folder.records(EVALUATIONS, key=lambda r: r["task_id"])
    finished = (folder.path / layout.REPORT_HTML).is_file() and len(lines) >= planned
    best = None
    for line in lines:
        b = fitness_record(line, "g")
        if b is not None and b.get("g") is not None and (best is None or b["g"] > best["value"]):
            best = {"metric": "g", "value": b["g"], "task_id": line["task_id"]}
    return {"phase": "finished" if finished else "sweep", "finished": finished,
            "done": {"sweep": len(lines)}, "planned": {"sweep": planned}, "best": best}


def _evolve(folder: RunFolder) -> dict:
    config, metric = folder.config, folder.config.search.fitness_metric
    lines = folder.records(EVALUATIONS, key=lambda r: (r.get("phase"), r["task_id"]))
    logbook = folder.records(layout.LOGBOOK, key=lambda e: e["step"])
    planned = {k: v for k, v in evolve_phases(config).items() if v}
    done = {phase: 0 for phase in planned}
    best, fresh = None, {}
    for line in lines:
        phase = line.get("phase") or "search"
        done[phase] = done.get(phase, 0) + 1
        value = _value(line, metric)
        if phase == "reevaluate":
            if value is not None:
                fresh.setdefault(line["hash"], []).append((value, line.get("size")))
        elif value is not None and (best is None or value > best["value"]):
            best = {"metric": metric, "value": value, "size": line.get("size"), "phase": phase}
    means = [(sum(v for v, _ in vals) / len(vals), vals[0][1], len(vals)) for vals in fresh.values()]
    fresh_best = max(means, default=None)
    last = logbook[-1] if logbook else None
    finished = complete(folder)  # a killed extension keeps the shorter run's pareto.json
    phase = ("finished" if finished else "reevaluate" if done.get("reevaluate")
             else (last["phase"] if last else "baseline" if "baseline" in planned else "search"))
    return {"phase": phase, "finished": finished,
            "generation": None if last is None else {
                "phase": last["phase"], "generation": last["generation"],
                "of": config.search.generations if last["phase"] == "search" else None},
            "done": done, "planned": planned, "best": best,
            "fresh_best": None if fresh_best is None else {
                "metric": metric, "value": fresh_best[0], "size": fresh_best[1], "seeds": fresh_best[2]}}


def _value(line: dict, metric: str):
    """A training's fitness, read as pareto.json, the report and export read it."""
    best = fitness_record(line, metric)
    return None if best is None else best.get(metric)


def _study(folder: RunFolder) -> dict:
    from .replicates import study_status  # a study folder of tsearch study --replicates
    return study_status(folder)


READERS = {"run": _run, "sweep": _sweep, "evolve": _evolve, "study": _study}


def _mark(path: Path) -> dict:
    try:
        mark = json.loads((path / integrity.MARK).read_text())
    except (OSError, ValueError):
        return {}
    return mark if isinstance(mark, dict) else {}


def _last_record(path: Path, kind: str) -> str | None:
    record = path / (layout.METRICS if kind == "run" else EVALUATIONS)
    try:
        return _when(record.stat().st_mtime)
    except OSError:
        return None


def _when(epoch: float) -> str:
    return _dt.datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


def eta(out: dict, mark: dict, *, running: bool) -> dict:
    """Evaluations left at the writer's own recent rate: {"seconds", "rate_per_min", "left",
    "basis"}, seconds None (unknown) when there is no rate to go by."""
    left = sum(max(0, out["planned"][k] - out["done"].get(k, 0)) for k in out["planned"])
    if out["finished"]:
        return {"seconds": 0, "left": 0, "rate_per_min": None, "basis": "finished"}
    times = [t for t in mark.get("appended_at") or [] if isinstance(t, (int, float))]
    if len(times) < MIN_APPENDS or times[-1] <= times[0]:
        return {"seconds": None, "left": left, "rate_per_min": None,
                "basis": f"unknown: fewer than {MIN_APPENDS} evaluations recorded by its last writer"}
    rate = (len(times) - 1) / (times[-1] - times[0])  # evaluations per second
    basis = f"the last {len(times)} evaluations recorded"
    return {"seconds": left / rate, "left": left, "rate_per_min": rate * 60,
            "basis": basis if running else f"{basis}, once resumed (nothing is running now)"}


# ----------------------------------------------------------------------------- text
def render(s: dict) -> str:
    """One screen of plain text."""
    lines = [f"{s['folder']}: {s['kind']} '{s['config']}', created {s.get('created') or '?'}"]
    phase = s["phase"]
    gen = s.get("generation")
    if gen:
        of = f" of {gen['of']}" if gen.get("of") else ""
        phase += f" (last logged: {gen['phase']} generation {gen['generation'] + 1}{of})"
    lines.append(f"phase:        {phase}")
    done = ", ".join(f"{k} {s['done'].get(k, 0)}/{'≤' if s['kind'] == 'evolve' else ''}{v}"
                     for k, v in s["planned"].items())
    if s["kind"] == "study":
        from .replicates import replicates_line
        done = replicates_line(s)
    lines.append(f"replicates:   {done}" if s["kind"] == "study" else f"evaluations:  {done}")
    lines.append(f"failed:       {s['failed']}")
    lines.append(f"best so far:  {_best(s.get('best'))}")
    if s["kind"] == "evolve":
        lines.append(f"best fresh:   {_best(s.get('fresh_best'), fresh=True)}")
    lines.append(f"lock:         {'idle' if s['lock'] is None else lock.describe(s['lock'])}")
    lines.append(f"last record:  {s.get('last_record') or 'none'}")
    lines.append(f"eta:          {_eta(s['eta'])}")
    return "\n".join(lines) + "\n"


def _best(b: dict | None, fresh: bool = False) -> str:
    if b is None:
        return "not yet" if not fresh else "not re-evaluated yet"
    where = f" (n={b['size']})" if b.get("size") is not None else ""
    where += f" ({b['task_id']})" if b.get("task_id") else ""
    seeds = f", mean of {b['seeds']} fresh seeds" if fresh else ""
    value = "none" if b["value"] is None else f"{b['value']:.4f}"
    return f"{b['metric']} = {value}{where}{seeds}"


def _eta(e: dict) -> str:
    if e["basis"] == "finished":
        return "finished"
    if e["seconds"] is None:
        return f"unknown ({e['left']} evaluations left at most; {e['basis']})"
    minutes = e["seconds"] / 60
    when = (f"{e['seconds']:.0f} s" if minutes < 1.5 else f"{minutes:.0f} min" if minutes < 90
            else f"{minutes / 60:.1f} h")
    return f"about {when} ({e['left']} evaluations left at most, {e['rate_per_min']:.1f}/min over {e['basis']})"
