"""``python -m tsearch``: the same command line as ``tsearch``."""

from tsearch.cli import main

if __name__ == "__main__":
    main(prog_name="tsearch")
