"""Numbers from finished results: no files, no torch."""
