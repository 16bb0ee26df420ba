"""The commands: each a small loop that plans, evaluates through an executor, records into its
RunFolder and writes its data product and report.

    run.py, sweep.py, evolve.py        tsearch run | sweep | evolve (public entry points:
                                       run_single, run_sweep, evolve)
    replicates.py, study.py            tsearch study --replicates R | RUN_DIR...
    rescore.py, status.py, estimate.py the other commands on a folder, and --dry-run's plan
    pipeline.py, progress.py           the executor and the progress display every command shares
    evolve_*.py, supports.py, screen_oracle.py   the search's state, tasks and outputs; what a
                                       bisection can reach; the oracle a screen may consult

A command resolves its folder once (str | Path | RunFolder) and hands the object on: storage is
tsearch.store, numbers tsearch.analysis, rendering tsearch.report; none of them imports back.
"""
