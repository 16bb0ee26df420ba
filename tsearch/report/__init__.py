"""Views of run folders: they only read a folder (through RunFolder) and draw into it.

    report.py     write_report(run_dir): report.html / report.md of any run kind
    run.py, sweep.py, evolve.py   the sections of each run kind's report
    analysis.py   n*(d), scaling fits, timescales of a sweep's records (numbers, no files)
    plots.py      matplotlib figures; timescales.py: tau_gen, tau_mem of a metric curve
"""
