"""Run folders on disk: the only code that knows their file names and formats.

    layout.py       every file of a run folder, named once, and the format's version
    folder.py       RunFolder: create, open, resume, write, append (its docstring states the
                    guarantees: atomic files, append-only records, one writer, integrity, identity)
    lock.py         the writer's lock (a FolderLock on its RunFolder); who holds a folder
    integrity.py    the writer's claim on its record (a RecordClaim on its RunFolder); checks, repair
    records.py      JSON and JSON lines, atomically and append-only
    provenance.py   run.json, config.json and the resume identity
    images.py       sample and training-set arrays and grids
    checkpoint.py   the search's checkpoints (ckpt-NNNNNN.json and .npz)
"""
