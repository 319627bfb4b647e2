"""What the demos share: the output folder, the record of files written, Graphviz's absence.

Each demo returns the files it wrote as a list of ``OutputFile`` (a path and a one-line
description), so that it can print them and ``python -m demos`` can gather them on one page.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

INSTALL_GRAPHVIZ = (
    "Graphviz's `dot` program was not found, so the graph pictures were written as .dot sources "
    "(plain text) instead of SVG. Install Graphviz to get the pictures: on Debian/Ubuntu "
    "`sudo apt-get install graphviz`, on macOS `brew install graphviz`, elsewhere see "
    "https://graphviz.org/download/. Then run the demo again, or render one file by hand: "
    "`dot -Tsvg FILE.dot -o FILE.svg`."
)

INSTALL_EXTRAS = "install the demos' extras: pip install -e '.[demos]' (graphviz, matplotlib, tqdm)"


@dataclass
class OutputFile:
    """One file a demo wrote: where, and what it shows (for the terminal and the index page)."""

    path: Path
    description: str


def prog_name(module_prog: str) -> str:
    """The program's name for ``--help``: the console script's (``backprop-lab-train``) or ``python -m ...``."""
    invoked = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return invoked if invoked.startswith("backprop-lab") else module_prog


def output_dir(path) -> Path:
    """The folder ``path``, created (with its parents) if needed."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def dot_available() -> bool:
    """True when Graphviz's ``dot`` is on PATH (the graph pictures are then SVG, else .dot text)."""
    return shutil.which("dot") is not None


def show_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it (shorter to read), else absolute."""
    path = Path(path)
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd().resolve()) else str(path)
    except (ValueError, OSError):
        return str(path)


def print_written(files: list[OutputFile], *, stream=None, heading: str = "Files written:") -> None:
    """List the files with their descriptions, one a line."""
    stream = stream or sys.stdout
    print(heading, file=stream)
    width = max((len(show_path(f.path)) for f in files), default=0)
    for f in files:
        print(f"  {show_path(f.path):<{width}}  {f.description}", file=stream)


def render_quietly(render, *args, **kwargs):
    """Call ``autograd.viz.render``; return ``(path, missing_dot)``.

    When ``dot`` is missing, ``render`` writes the .dot source and warns with ``GraphvizNotFound``;
    the demos say so once, in their own words, instead of once per picture.
    """
    from autograd.viz import GraphvizNotFound

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GraphvizNotFound)
        path = render(*args, **kwargs)
    missing = False
    for w in caught:
        if issubclass(w.category, GraphvizNotFound):
            missing = True
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    missing = missing or Path(path).suffix == ".dot"
    return Path(path), missing
