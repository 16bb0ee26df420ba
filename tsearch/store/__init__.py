"""Run folders on disk: the only code that knows their file names and formats."""
