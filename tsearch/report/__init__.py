"""Rendering only: what a run folder holds, as report.html / report.md, figures and tables.

    render.py             write_report(run): the report of any run kind (header, sections,
                          glossary, resolved config); write_live_report: a running search's
    run_sections.py, sweep_sections.py, evolve_sections.py, study_sections.py
                          the sections of each kind of folder (answer_sections.py and
                          screening_sections.py: parts of a search's report)
    sections.py           Section, Table, Figure: what a section holds, rendered twice
    glossary.py           every column and word a report uses, defined once
    plots.py              matplotlib figures (loaded on first use)
    tables.py             run folders as flat tables (the public import is tsearch.results)

A report reads the folder through a RunFolder (tsearch.store) and computes nothing the
commands did not already record: numbers come from tsearch.analysis. It never runs a command.
"""
