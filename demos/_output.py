"""What the demos share: the output folder, the record of files written, Graphviz's absence,
their options' checks and their JSON.

Each demo returns the files it wrote as a list of ``OutputFile`` (a path and a one-line
description), so that it can print them and ``python -m demos`` can gather them on one page.

Options are checked while the command line is parsed, before anything is created: a bad value
ends the program as argparse does (exit status 2, a usage line and one line naming the option).

JSON is standard JSON: a number that is not finite, which JSON cannot hold, is written as the
string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` (``float()`` reads each back).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

INSTALL_GRAPHVIZ = (
    "Graphviz's `dot` program was not found, so the graph pictures were written as .dot sources "
    "(plain text) instead of SVG. Install Graphviz to get the pictures: on Debian/Ubuntu "
    "`sudo apt-get install graphviz`, on macOS `brew install graphviz`, elsewhere see "
    "https://graphviz.org/download/. Then run the demo again, or render one file by hand: "
    "`dot -Tsvg FILE.dot -o FILE.svg`."
)


def _install_command(extras: str = "demos") -> str:
    """How to add ``extras``: from a source checkout (editable) or from an installed package."""
    checkout = Path(__file__).resolve().parent.parent / "pyproject.toml"
    return f"pip install -e '.[{extras}]'" if checkout.exists() else f"pip install 'backprop-lab[{extras}]'"


INSTALL_EXTRAS = f"install the demos' extras: {_install_command()} (graphviz, matplotlib, tqdm)"
INSTALL_DATA = (
    f"install the data extra: {_install_command('demos,data')} (scikit-learn, which ships the data sets, "
    "so nothing is downloaded)"
)


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
    """The folder ``path``, created (with its parents) if needed, after ``check_output_dir``."""
    folder = Path(path)
    problem = check_output_dir(folder)
    if problem:
        raise ValueError(f"output folder {str(folder)!r}: {problem}")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_output_dir(folder: Path) -> str | None:
    """Why ``folder`` cannot be the output folder, or None if it can: it must be a folder, or not
    exist below a folder this process may write into. Creates nothing (a probe file is removed)."""
    folder = Path(folder)
    if str(folder) == "":
        return "the name is empty"
    if folder.exists() and not folder.is_dir():
        return "it exists and is not a folder"
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        return f"{str(existing)!r} is a file, so no folder can be made below it"
    try:  # the real test of writability (os.access says yes to root on read-only or virtual file systems)
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        return f"cannot write into {str(existing)!r} ({e.strerror or e})"
    return None


def output_dir_option(text: str) -> Path:
    """argparse ``type=`` for ``--out``: a folder that can be written (not created yet)."""
    problem = check_output_dir(Path(text))
    if problem:
        raise argparse.ArgumentTypeError(f"cannot write the output into {text!r}: {problem}")
    return Path(text)


def demo_parser(
    prog: str | None, module_prog: str, description: str, out_help: str = "folder for the output files"
) -> argparse.ArgumentParser:
    """A demo's command line: its program name (``prog``, else ``prog_name(module_prog)``), its
    description, and ``--out``, checked by ``output_dir_option`` before anything runs."""
    parser = argparse.ArgumentParser(prog=prog or prog_name(module_prog), description=description)
    parser.add_argument("--out", type=output_dir_option, default="out", help=f"{out_help} (created; default: out)")
    return parser


def add_progress_option(
    parser: argparse.ArgumentParser, help: str = "no progress bar (the log lines are printed anyway)"
) -> None:
    parser.add_argument("--no-progress", action="store_true", help=help)


def add_seed_option(parser: argparse.ArgumentParser, default: int, of: str = "the weights") -> None:
    """``--seed``: the random seed of ``of``, a whole number >= 0 (``seed_option``)."""
    parser.add_argument(
        "--seed", type=seed_option, default=default, help=f"random seed of {of}, >= 0 (default: {default})"
    )


def positive_int(text: str) -> int:
    """argparse ``type=``: an integer >= 1."""
    return _int_option(text, 1, "a whole number >= 1")


def seed_option(text: str) -> int:
    """argparse ``type=`` for ``--seed``: an integer >= 0 (numpy's seeds)."""
    return _int_option(text, 0, "a whole number >= 0")


def learning_rate(text: str) -> float:
    """argparse ``type=`` for ``--lr``: a finite number >= 0 (what the optimizers accept)."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def _int_option(text: str, low: int, wanted: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low:
        raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}")
    return value


def jsonable(obj):
    """``obj`` with numpy arrays and numbers made plain, and non-finite floats made strings."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, float):
        if math.isnan(obj):
            return "NaN"
        if math.isinf(obj):
            return "Infinity" if obj > 0 else "-Infinity"
        return obj
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    return str(obj)


def write_json(path: Path, data) -> Path:
    """Write ``jsonable(data)`` to ``path`` as standard JSON (``allow_nan=False``), indented."""
    path = Path(path)
    path.write_text(json.dumps(jsonable(data), indent=1, allow_nan=False) + "\n")
    return path


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


def pyplot():
    """``matplotlib.pyplot`` drawing into files only (the Agg backend), or exit naming the extra to install."""
    try:
        import matplotlib
    except ImportError as exc:
        raise SystemExit(f"matplotlib is needed to draw the pictures; {INSTALL_EXTRAS}") from exc
    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot as plt

    return plt


def sklearn_datasets():
    """``sklearn.datasets`` (its loaders read data shipped inside the package), or exit naming the extra."""
    try:
        import sklearn.datasets
    except ImportError as exc:
        raise SystemExit(f"the real-data demos need scikit-learn; {INSTALL_DATA}") from exc
    return sklearn.datasets


class Progress:
    """Log lines, and a progress bar on stderr when it is a terminal.

    Piped or redirected, the output is the log lines alone, with no ``\\r`` redraws; on a terminal
    the lines are written above the bar (tqdm), which stays on stderr so stdout stays clean.
    """

    def __init__(self, total: int, desc: str, unit: str, *, enabled: bool = True, stream=None):
        self.stream = stream or sys.stdout
        self.bar = None
        if enabled and sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:  # the log lines still show progress
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, desc=desc, unit=unit, leave=False, file=sys.stderr)

    def log(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream)

    def update(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def one_blas_thread():
    """A context in which numpy's BLAS uses one thread (threadpoolctl, which scikit-learn brings along).

    The real-data demos multiply small matrices, for which a second thread costs more than it gives:
    the digits demo took 45 s of wall time with OpenBLAS's two threads on a busy 2-core machine and
    8 s with one. Without threadpoolctl, nothing changes.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
