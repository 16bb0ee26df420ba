"""Run folders: the drivers (``run``, ``sweep``, ``evolve``), the one recorder
(:class:`tsearch.store.folder.RunFolder`) and the views that read folders (``views/``).

Dependencies inside: drivers -> pipeline, folder, views; views -> folder; never the other way.
"""
