"""The configs shipped inside the package (``tsearch/configs/*.toml``), found from any directory.

    names()              -> ["dots_small", "evolve", "exp1", ...]
    path("exp1")         -> the installed file (site-packages/tsearch/configs/exp1.toml)
    resolve("exp1")      -> a command's CONFIG argument: an existing file, else a packaged name
    listing()            -> what ``tsearch configs`` prints: one line per config
    copy("exp1", "my.toml")  -> a copy to edit (``tsearch configs exp1 --out my.toml``)

Torch-free and light: the CLI calls it before anything heavy loads. These files are the one copy
of the shipped configs; the tests, the experiments and ``tsearch evolve`` (no CONFIG) read them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..atomic import write_atomic
from ..errors import UserError

SUFFIX = ".toml"


def _folder() -> Path:
    # A wheel installs the package as plain files, so the resource folder is a real directory
    # whose paths the config loader (and a user) can open directly.
    return Path(str(resources.files(__name__)))


def names() -> list[str]:
    """The packaged configs' names, sorted."""
    return sorted(p.name.removesuffix(SUFFIX) for p in _folder().glob(f"*{SUFFIX}"))


def path(name: str) -> Path:
    """The packaged config ``name`` (with or without ``.toml``), or a one-line UserError."""
    stem = name.removesuffix(SUFFIX)
    if stem not in names():
        raise UserError(f"{name}: no packaged config of that name (choose one of {', '.join(names())})")
    return _folder() / f"{stem}{SUFFIX}"


def resolve(arg: str | Path) -> Path:
    """A command's CONFIG: a file that exists wins; else a bare name (``exp1`` or ``exp1.toml``)
    of a packaged config; else a UserError that names both possibilities."""
    given = Path(arg)
    if given.is_file():
        return given
    if given.name == str(arg) and given.name.removesuffix(SUFFIX) in names():
        return path(given.name)
    raise UserError(f"{arg}: no such config file, nor a packaged config "
                    f"(packaged: {', '.join(names())}; `tsearch configs` lists them)")


def summary(name: str, width: int = 90) -> str:
    """The first sentence of a packaged config's opening comment (what it is for), cut to ``width``."""
    words = []
    for line in path(name).read_text().splitlines():
        if not line.startswith("#") or not line.strip("# "):
            break  # the opening comment paragraph ends
        words += line.strip("# ").split()
    sentence = " ".join(words).split(". ")[0].rstrip(".")
    return sentence if len(sentence) <= width else sentence[:width - 1].rstrip() + "…"


def listing() -> str:
    """``tsearch configs``: name and summary of every packaged config, one per line."""
    width = max(map(len, names()))
    return "\n".join(f"{n:<{width}}  {summary(n)}" for n in names())


def text(name: str) -> str:
    """``tsearch configs NAME``: the config's TOML, comments included."""
    return path(name).read_text()


def copy(name: str, out: str | Path) -> Path:
    """``tsearch configs NAME --out FILE``: a copy to edit; an existing file is never overwritten."""
    out = Path(out)
    if out.exists():
        raise UserError(f"{out}: already exists (choose another --out, or remove it first)")
    if not out.parent.is_dir():
        raise UserError(f"{out.parent}: no such directory")
    write_atomic(out, text(name))
    return out
