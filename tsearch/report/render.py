"""report.html (self-contained: PNGs embedded as base64) and report.md for any run folder.

Each run kind has a view module with ``report_sections(folder) -> list[Section]``
(tsearch.report.run_sections, .sweep, .evolve). ``write_report`` adds the header (provenance and
resolved config) and renders both files. Views only read a folder; the figures they draw are
PNG files inside it, so report.md can link them and report.html can embed them.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from ..atomic import write_atomic
from ..errors import UserError
from ..store import integrity, layout
from ..store.folder import RunFolder, as_folder
from . import evolve_sections, run_sections, sweep_sections
from .glossary import glossary_section
from .sections import Figure, Section, Table, fmt

__all__ = ["write_report", "write_live_report", "render_markdown", "render_html"]

SECTIONS = {"run": run_sections.report_sections, "sweep": sweep_sections.report_sections,
            "evolve": evolve_sections.report_sections}


def write_report(run: str | Path | RunFolder) -> tuple[Path, Path]:
    """Write report.html and report.md in the run folder; returns their paths. It writes into
    the folder, so it holds the folder's lock: a driver's folder already does, a folder given
    by its path is locked for the time of the report."""
    folder = as_folder(run)
    taken = not folder.lock.held
    folder.hold()
    try:
        return _write_report(folder)
    finally:
        if taken:
            folder.release()


def _write_report(folder: RunFolder) -> tuple[Path, Path]:
    integrity.check(folder.path)
    path, meta = folder.path, folder.meta
    sections_of = SECTIONS.get(meta.get("kind"))
    if sections_of is None:
        raise UserError(f"{path}: no report for run kind {meta.get('kind')!r}")
    sections = sections_of(folder)
    title = f"tsearch {meta['kind']}: {path.name}"
    sections = [*sections, glossary_section(sections), _config_section(folder)]
    banner = SMOKE_BANNER if meta.get("smoke") else None
    write_atomic(folder.inside(layout.REPORT_MD), render_markdown(title, sections, banner))
    write_atomic(folder.inside(layout.REPORT_HTML), render_html(title, sections, path, banner))
    return path / layout.REPORT_HTML, path / layout.REPORT_MD


def write_live_report(run: str | Path | RunFolder, out: Path) -> tuple[Path, Path]:
    """report.html and report.md of a search another process is writing, in ``out`` (not the
    run folder): read without the lock, so the writer is neither refused nor disturbed."""
    folder = as_folder(run)
    integrity.check(folder.path)  # a cut record is refused; a writer appending only adds
    if folder.meta.get("kind") != "evolve":
        raise UserError(f"{folder.path}: a {folder.meta.get('kind')} is running; its report comes at the end "
                        f"(`tsearch status {folder.path}` says where it stands, `tsearch export` tables what "
                        "is recorded)")
    sections = evolve_sections.live_sections(folder, out)
    title = f"tsearch evolve (in progress): {folder.path.name}"
    sections = [*sections, _config_section(folder)]
    write_atomic(out / layout.REPORT_MD, render_markdown(title, sections, LIVE_BANNER))
    write_atomic(out / layout.REPORT_HTML, render_html(title, sections, out, LIVE_BANNER))
    return out / layout.REPORT_HTML, out / layout.REPORT_MD


LIVE_BANNER = "In progress: rendered from what the running search has recorded so far."
SMOKE_BANNER = ("Smoke run (--smoke): the config's [sweep.smoke] reductions were applied, to check "
                "the pipeline end to end. Its numbers are not results.")


def _config_section(folder: RunFolder) -> Section:
    config = json.dumps(folder.read_json(layout.CONFIG), indent=2)
    provenance = {k: folder.meta.get(k) for k in ("created", "command", "git_commit", "versions")}
    return Section("Provenance and resolved config",
                   paragraphs=[f"`{k}`: {v}" for k, v in provenance.items()] + [f"```\n{config}\n```"])


# ----------------------------------------------------------------------------- rendering
def render_markdown(title: str, sections: list[Section], banner: str | None = None) -> str:
    lines = [f"# {title}", ""] + ([f"> **{banner}**", ""] if banner else [])
    for s in sections:
        lines += [f"## {s.title}", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        for t in s.tables:
            lines += _markdown_table(t)
        for f in s.figures:
            lines += [f"![{f.caption}]({f.path})", "", f"*{f.caption}*", ""]
    return "\n".join(lines)


def _markdown_table(t: Table) -> list[str]:
    out = [f"*{t.caption}*", ""] if t.caption else []
    out.append("| " + " | ".join(t.columns) + " |")
    out.append("|" + "---|" * len(t.columns))
    out += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in t.rows]
    return out + [""]


def render_html(title: str, sections: list[Section], run_dir: Path, banner: str | None = None) -> str:
    body = [f"<h1>{html.escape(title)}</h1>"]
    if banner:
        body.append(f"<p class='banner'>{html.escape(banner)}</p>")
    for s in sections:
        body.append(f"<h2>{html.escape(s.title)}</h2>")
        body += [_html_paragraph(p) for p in s.paragraphs]
        body += [_html_table(t) for t in s.tables]
        body += [_html_figure(f, run_dir) for f in s.figures]
    return (f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _html_paragraph(p: str) -> str:
    if p.startswith("```"):
        return f"<pre>{html.escape(p.strip('`').strip())}</pre>"
    return f"<p>{html.escape(p).replace('`', '')}</p>"


def _html_table(t: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in t.columns)
    rows = "".join("<tr>" + "".join(_html_cell(v) for v in r) + "</tr>" for r in t.rows)
    caption = f"<caption>{html.escape(t.caption)}</caption>" if t.caption else ""
    # a wide table scrolls inside its own box instead of overflowing the page
    return f"<div class='scroll'><table>{caption}<tr>{head}</tr>{rows}</table></div>"


def _html_cell(value) -> str:
    text = "class='t'" if isinstance(value, str) and len(value) > 12 else ""  # prose reads left-aligned
    return f"<td {text}>{html.escape(fmt(value))}</td>" if text else f"<td>{html.escape(fmt(value))}</td>"


def _html_figure(f: Figure, run_dir: Path) -> str:
    file = run_dir / f.path
    if not file.is_file():
        return f"<p><em>missing figure {html.escape(f.path)}</em></p>"
    data = base64.b64encode(file.read_bytes()).decode()
    return (f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(f.caption)}'>"
            f"<figcaption>{html.escape(f.caption)}</figcaption></figure>")


_CSS = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;
text-align:right}caption{text-align:left;font-style:italic}img{max-width:100%;
image-rendering:pixelated}pre{background:#f4f4f4;padding:1em;overflow-x:auto;font-size:80%}
figure{margin:1em 0}figcaption{font-style:italic;color:#444}
.scroll{overflow-x:auto;max-width:100%}.banner{background:#fff3cd;border:1px solid #e0b000;
padding:.6em 1em;font-weight:bold}
td:first-child,th:first-child,td.t{text-align:left}"""
