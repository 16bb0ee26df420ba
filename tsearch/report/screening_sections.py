"""The report's "Screening" section: what the surrogate did in a screened search
(search.screen_factor > 1; pareto.json's ``screening``, tsearch.search.screening)."""

from __future__ import annotations

from .sections import Section, Table, fmt


def screening_section(summary: dict) -> Section | None:
    s = summary.get("screening")
    if not s:
        return None
    rho = s["rank_correlation"]
    words = [f"Each generation the search made {s['candidates']} candidate training sets in all and "
             f"trained {s['trained']} of them ({s['candidates'] / max(1, s['trained']):.1f} candidates "
             "per training), picked by a surrogate of the fitness on the sets' features (search.screen_model), "
             "fit on the sets the search and the random baseline had trained (never the control's), at "
             "the upper confidence bound of each candidate's predicted fitness and NSGA-II over (bound, "
             "size); a share of the picks is random (explore). While too few sets were trained, the "
             "picks were random.",
             "Out of sample (predicted before the training, measured after), over the "
             f"{s['predicted_and_measured']} surrogate-predicted picks: Spearman rank correlation "
             + ("n/a (too few)" if rho is None else f"{rho:+.2f}") + " (chance: 0)."]
    rows = [[g["step"], g["candidates"], g["trained"], g["by"] + (f" ({g['why']})" if g.get("why") else ""),
             g.get("explore") if g.get("explore") is not None else "-", g["trained_sets"],
             fmt(g["rank_correlation"]),
             ", ".join(f"{f['feature']} ({f['relevance']:.2g})" for f in g.get("features") or []) or "-"]
            for g in s["generations"]]
    table = Table(["step", "candidates", "trained", "picked by", "explore", "sets it learned from",
                   "rank correlation", "features leaned on (relevance)"], rows,
                  caption="per generation of the search; rank correlation over that generation's picks")
    return Section("Screening: what the surrogate did", words, tables=[table])
