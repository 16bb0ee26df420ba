"""What every number and column of a report means: the glossary section of report.html / .md.

One entry per term; ``terms_of(sections)`` keeps the ones the report uses (a column, or a
metric a table or plot shows), so the glossary is as long as the report needs and no longer.
tests/test_report_reader.py checks that every column of every report table is defined here.
"""

from __future__ import annotations

import re

from .sections import Section, Table

METRICS = {
    "valid": "fraction of generated samples in the target's support (a valid image of the target)",
    "copy": "fraction of samples equal, once binarized, to an image of the training set",
    "copy_ratio": "fraction of samples whose nearest training image is < 1/3 of the distance to "
                  "the second nearest (the rule of Yoon 2023, Gu 2023, Bonnaire 2025)",
    "novel": "fraction of samples that are valid and not a copy",
    "g": "generalization: the fraction of samples that are valid and novel (= novel)",
    "g_rel": "g divided by the g of samples drawn from the target itself against the same "
             "training set (1 = as novel as the target allows at this n)",
    "distinct_novel": "distinct novel images per sample: diversity, which g alone does not see",
    "coverage_unseen": "for finite supports: fraction of the support's images not in the training "
                       "set that the samples reach",
    "loss": "mean denoising score-matching loss since the previous scored step",
    "copy_shift": "fraction of samples equal to a training image up to a translation that keeps "
                  "every white pixel on the canvas (metrics.symmetries = d4: also the 8 "
                  "symmetries of the square)",
    "novel_shift": "fraction of samples that are valid and not a copy_shift",
    "g_shift": "valid and novel up to translation: a shifted copy does not count (= novel_shift)",
    "distinct_novel_shift": "distinct g_shift shapes (up to translation) per sample",
    "hamming_q10": "10% quantile, over valid samples, of the Hamming distance to the nearest "
                   "translated training image divided by the sample's white area",
    "hamming_q50": "median of that normalized distance",
    "hamming_q90": "90% quantile of that normalized distance",
    "near_copy": "fraction of samples valid and within metrics.near_copy_hamming of a translated "
                 "training image",
    "g_far": "fraction of samples valid and farther than metrics.near_copy_hamming",
    "chance_valid": "chance level of validity: the validity rate of random connected blobs with "
                    "the samples' white areas (polygons; docs/polygon_validity.md)",
    "g_above_chance": "g minus chance_valid",
    "g_shift_above_chance": "g_shift minus chance_valid: generalization up to translation beyond what "
                            "shapeless blobs of the samples' areas score",
    "precision": "fidelity: fraction of valid samples inside the k-NN balls of a fresh target "
                 "sample, in the target's descriptor space (Kynkäänniemi et al. 2019)",
    "recall": "coverage: fraction of the target sample inside the k-NN balls of the valid "
              "samples (Kynkäänniemi et al. 2019)",
    "coverage": "fraction of a fresh target sample's k-NN balls (sized so that the target's own M "
                "samples would put metrics.coverage_beta in each) holding a g_far sample (Naeem et al. 2020)",
    "coverage_chance": "the coverage that random connected blobs with the samples' white areas reach "
                       "(exact expectation over the chance table's blobs)",
    "learned": "coverage minus coverage_chance: the samples are valid, beyond the near-copy band, and "
               "cover the target beyond what blobs of their sizes would (the default fitness; "
               "docs/metrics.md)",
}
COLUMNS = {
    "n": "training-set size (images)",
    "d": "image dimension: side x side pixels",
    "step": "training step at which the model was sampled and scored (a scored step)",
    "best step": "the scored step with the highest g (earliest on ties)",
    "best_step": "the scored step with the highest g (earliest on ties)",
    "tau_gen": "first scored step where g_shift reaches 90% of its maximum",
    "tau_mem": "first scored step where copy_shift exceeds 0.05 (memorization starts)",
    "tau_gen_epochs": "tau_gen in epochs (steps x batch_size / n)",
    "tau_mem_epochs": "tau_mem in epochs (steps x batch_size / n)",
    "tau_gen (epochs)": "tau_gen in epochs (steps x batch_size / n)",
    "tau_mem (epochs)": "tau_mem in epochs (steps x batch_size / n)",
    "tau_gen_valid": "former tau_gen: first scored step where valid reaches 90% of its maximum "
                     "(counts copies, so never below tau_mem)",
    "tau_mem_copy": "former tau_mem: first scored step where exact copy exceeds 0.05",
    "n_params": "number of trainable parameters of the score model",
    "seeds": "number of seeds (independent training sets) averaged",
    "group": "the sweep's grid points that differ only in n and seed",
    "metric": "the metric a threshold refers to (sweep: the generalization metric whose seed "
              "mean n*(d) thresholds, per group; evolve: search.fitness_metric)",
    "max_metric": "the highest seed mean of that metric over scored steps",
    "n*(d)": "smallest n at which the seed mean of the metric reaches the threshold",
    "n* (seed mean)": "smallest n at which the seed mean of the metric reaches the threshold",
    "n* per seed": "seed:n* for each seed ('-': not reached)",
    "n*": "bisection (sweep.search = bisect): the smallest n whose probe reached the threshold, "
          "the bracket being one integer wide; '> n_max' when no probe did (a lower bound)",
    "seed": "the training-set seed of a search (run.seed)",
    "smallest passing n": "bisection: the smallest probed n that reached the threshold (upper end of "
                          "the bracket of n*)",
    "largest failing n": "bisection: the largest probed n that did not reach it (lower end of the bracket)",
    "_best": "suffix: the value at each seed's best scored step, averaged over seeds",
    "_last": "suffix: the value at each seed's last scored step, averaged over seeds",
    "phase": "baseline (random training sets drawn from the target), search (the strategy), "
             "control (a random search with the search's evaluations at each size), "
             "reevaluate (fresh seeds after the search)",
    "per rung": "multi-fidelity: evaluations at each fraction of the training budget",
    "n <=": "the size bound of a comparison: each arm's best set of at most n images",
    "search (<= n), fresh": "the search's best set of at most n images, trained again with fresh "
                            "seeds: mean ± sd",
    "control (<= n), fresh": "the control's best set of at most n images, fresh seeds: mean ± sd",
    "search: set size": "size of the search's set compared at this bound",
    "control: set size": "size of the control's set compared at this bound",
    "search: fresh mean ± sd (k)": "the search's set: fresh-seed mean ± sd (k seeds)",
    "control: fresh mean ± sd (k)": "the control's set: fresh-seed mean ± sd (k seeds)",
    "search: 95% CI": "t interval of the search set's fresh mean",
    "control: 95% CI": "t interval of the control set's fresh mean",
    "difference [95% CI]": "search minus control fresh means, Welch interval",
    "Welch p": "two-sided p-value of Welch's t test (unequal variances) of that difference",
    "Holm p": "Welch p corrected by Holm's step-down method across the compared sizes",
    "wins": "the arm whose fresh mean is higher with Holm p < search.alpha, else neither",
    "best random set, fresh": "the random baseline's best set of this size, fresh-seed mean ± sd",
    "feature": "a property of a training set (tsearch.search.features: size, white fraction and its "
               "sd, vertices, convexity, compactness, distance from the centre, centroid spread, "
               "pairwise Hamming distance and overlap; 'missing': the indicator of a pairwise "
               "feature a one-image set lacks)",
    "coefficient (per sd)": "ridge-regression coefficient of the feature, standardized: the change "
                            "of the fitness per standard deviation of the feature, the others fixed",
    "95% bootstrap CI": "percentile interval of that coefficient over sets resampled with replacement",
    "median": "median fitness of the random sets of this size (each set: mean over its trainings)",
    "median CI (coverage)": "distribution-free interval of the median from order statistics, with "
                            "its exact binomial coverage (below 95% when there are too few sets)",
    "90th pct": "90th percentile of the random sets' fitness at this size",
    "90th pct CI (coverage)": "order-statistic interval of the 90th percentile, with its coverage",
    "control: fresh mean": "the control's best set of at most n images: mean over its fresh seeds",
    "search: fresh mean": "the search's best set of at most n images: mean over its fresh seeds",
    "control: seeds": "fresh seeds of the control's set / trainings it had in the search",
    "search: seeds": "fresh seeds of the search's set / trainings it had in the search",
    "search front (mean)": "that property averaged over the search's front",
    "control front (mean)": "that property averaged over the control's front",
    "gen": "generation within its phase (0 = the initial population)",
    "evaluations": "trainings run in that generation: a new set's seeds_per_set, one per "
                   "survivor trained again (search.resample_survivors)",
    "cached": "training sets asked again whose fitness was already known (not re-trained)",
    "failed": "evaluations that failed (errors.jsonl)",
    "best": "the best fitness found so far in the phase",
    "mean": "mean fitness of the generation's population",
    "front": "size of the Pareto front (no other set is both smaller and better)",
    "hypervolume": "area dominated by the (size, metric) front up to the reference point "
                   "(n_max + 1, 0), divided by (n_max + 1 - n_min): 1 = a set of the smallest size "
                   "with metric 1 (tsearch.analysis.hypervolume)",
    "s": "wall-clock seconds of the generation",
    "in-search": "prefix: the fitness value of a set as the search measured it (the mean over its "
                 "trainings in the search: biased upward for a winner)",
    "fresh mean ± sd (seeds)": "the set trained again with fresh seeds: mean ± sd of the metric "
                               "(number of seeds that succeeded); the search value is the best of "
                               "many noisy trials, so biased upward",
    "held up": "yes if the fresh mean is within 2 sd of the search value and not below the "
               "random baseline's mean at that size",
    "hash": "identity of the training set (sha256 of its parameters)",
    "search best at n": "best metric the search found at exactly this size",
    "search best at <= n": "best metric the search found at this size or smaller",
    "fresh (search <= n)": "fresh-seed mean ± sd of that set",
    "random mean": "mean metric of the random training sets of this size",
    "random sd": "their standard deviation",
    "random best": "the best random set of this size",
    "fresh (random best)": "fresh-seed mean ± sd of the best random set",
    "random sets": "number of random training sets of this size",
    "a [95% CI]": "intercept of the linear fit, 95% interval",
    "b (steps per image) [95% CI]": "slope of the linear fit: training steps per training image",
    "R²": "coefficient of determination of the fit",
    "points": "points the fit used",
    "formula": "the fitted scaling law",
    "params": "its fitted parameters",
    "set": "which set of the size's row: an arm's answer (its best, re-trained on fresh seeds) or the "
           "best / worst set evaluated in the search or the random baseline",
    "images": "the number of training images in that set",
    "aic": "Akaike information criterion (lower: preferred)",
    "weight": "Akaike weight: relative support for the formula",
}


def glossary_section(sections: list[Section]) -> Section:
    """Definitions of the metrics and columns the report's sections use."""
    used = _words(sections)
    rows = [[term, meaning] for term, meaning in {**METRICS, **COLUMNS}.items()
            if term in used or (term.startswith("_") and any(w.endswith(term) for w in used))]
    return Section("Glossary", ["What each metric and column of this report means. Metrics carry "
                                "95% bootstrap intervals where metrics.n_bootstrap > 0 (in the "
                                "records and in `tsearch export`)."],
                   tables=[Table(["term", "meaning"], rows)])


def defined(column: str) -> bool:
    """Is a table column explained by the glossary (itself, its metric, or a suffix)?"""
    if column in METRICS or column in COLUMNS:
        return True
    for prefix in ("in-search ", "fresh "):  # "fresh learned": the fitness as re-measured on fresh seeds
        if column.startswith(prefix) and column.removeprefix(prefix) in METRICS:
            return True
    return any(column.endswith(suffix) and column[: -len(suffix)] in METRICS
               for suffix in ("_best", "_last"))


def _words(sections: list[Section]) -> set[str]:
    words = set()
    for s in sections:
        for t in s.tables:
            words |= set(t.columns)
        text = " ".join([s.title, *s.paragraphs, *(f.caption for f in s.figures)])
        words |= set(re.findall(r"[A-Za-z_*()]+(?:\s\(seed mean\))?", text))
    return words
