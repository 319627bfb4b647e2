"""The demos run end to end into a folder and write what they promise, readable by a person and a browser."""

from __future__ import annotations

import csv
import json
import re
import shutil
import struct
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from importlib import import_module
from pathlib import Path

import numpy as np
import pytest
from conftest import require_dot, require_module

ROOT = Path(__file__).resolve().parents[1]
FEW_EPOCHS = "300"
FEW_DATA = ["--digits-epochs", "1", "--cancer-epochs", "5", "--moons-steps", "2"]  # real-data demos, briefly


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; fails unless the file starts with the PNG signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def svg_text(path: Path) -> str:
    """All text of an SVG (it must parse as XML), for looking up node labels."""
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return " ".join(t for t in root.itertext())


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value and not value.startswith(("http:", "https:", "#", "data:")):
                self.targets.append(value)


def referenced(index: Path) -> set[Path]:
    from urllib.parse import unquote

    parser = Links()
    parser.feed(index.read_text(encoding="utf-8"))
    return {(index.parent / unquote(t)).resolve() for t in parser.targets}


def without_dot(monkeypatch, tmp_path):
    """Make Graphviz's dot unfindable: shutil.which says no, and PATH holds only an empty folder."""
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda cmd, *a, **k: None if cmd == "dot" else real_which(cmd, *a, **k))
    empty = tmp_path / "empty_path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


# ---------------------------------------------------------------------- train_seed


def test_train_seed_writes_curve_csv_and_json(tmp_path, capsys):
    require_module("matplotlib")
    from demos import train_seed

    out = tmp_path / "train"
    assert train_seed.main(["--epochs", FEW_EPOCHS, "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out

    width, height = png_size(out / "loss_curve.png")
    assert 600 <= width <= 3000 and 300 <= height <= 2000, (width, height)
    assert (out / "loss_curve.png").stat().st_size > 10_000

    with open(out / "losses.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "loss"]
    losses = [float(loss) for _, loss in rows[1:]]
    assert [int(e) for e, _ in rows[1:]] == list(range(int(FEW_EPOCHS)))
    assert sum(losses[-30:]) / 30 < sum(losses[:30]) / 30 and losses[-1] < losses[0]

    data = json.loads((out / "training.json").read_text())
    assert data["losses"] == pytest.approx(losses)
    assert data["epochs"] == int(FEW_EPOCHS) and data["optimizer"] == "sgd" and data["seed"] == 0
    assert data["floor"] == pytest.approx(0.10568, abs=1e-4)  # H(0.85) / 4, from the article's notes
    assert len(data["predictions"]) == 4

    # the article's log style, at epoch 0 and at the end; the table; the files
    assert re.search(r"epoch +0, loss 0\.\d{6}", printed)
    assert re.search(rf"epoch {int(FEW_EPOCHS) - 1}, loss 0\.\d{{6}}", printed)
    assert "Final predictions" in printed and "target" in printed
    for name in ("loss_curve.png", "losses.csv", "training.json"):
        assert name in printed


def test_train_seed_logs_every_1000_epochs_and_at_the_end(tmp_path, capsys):
    require_module("matplotlib")
    from demos import train_seed

    assert train_seed.main(["--epochs", "2001", "--out", str(tmp_path), "--no-progress"]) == 0
    logged = [int(e) for e in re.findall(r"^epoch +(\d+), loss", capsys.readouterr().out, re.M)]
    assert logged == [0, 1000, 2000]


def test_train_seed_options_reach_the_training(tmp_path, capsys):
    require_module("matplotlib")
    from demos import train_seed

    argv = ["--epochs", "50", "--optimizer", "adam", "--lr", "0.05", "--targets", "second", "--seed", "3"]
    assert train_seed.main([*argv, "--out", str(tmp_path), "--no-progress"]) == 0
    data = json.loads((tmp_path / "training.json").read_text())
    assert (data["optimizer"], data["lr"], data["targets"], data["seed"]) == ("adam", 0.05, "second", 3)
    assert data["floor"] == pytest.approx(0.51934, abs=1e-4)
    assert [row[0] for row in data["targets_values"]] == pytest.approx([0.96, 0.63, 0.75, 0.45])
    assert len(data["losses"]) == 50


def test_train_seed_rejects_unknown_optimizer(capsys):
    from demos import train_seed

    with pytest.raises(SystemExit) as exc:
        train_seed.main(["--optimizer", "lbfgs"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# ---------------------------------------------------------------------- picture_backprop


def test_picture_backprop_svgs_show_the_labelled_nodes(tmp_path, capsys):
    require_module("graphviz")
    require_dot()
    from demos import picture_backprop

    assert picture_backprop.main(["--out", str(tmp_path), "--sample", "1"]) == 0
    printed = capsys.readouterr().out

    scalar = svg_text(tmp_path / "graph_scalar.svg")
    for label in ("w1[0,1]", "w1[1,3]", "b1[0,2]", "w2[3,0]", "b2[0,0]", "x[1]", "h[3]", "z2", "loss (sample 1)"):
        assert label in scalar, label
    tensor = svg_text(tmp_path / "graph_tensor.svg")
    for label in ("w1", "b1", "w2", "b2", "x", "z1", "h", "p", "loss (mean)", "(4, 2)"):
        assert label in tensor, label

    frames = sorted((tmp_path / "backprop_frames").glob("frame_*.svg"))
    assert len(frames) == 37, "one frame per node of the scalar graph"  # 2-4-1 net of weighted sums + BCE
    assert 'class="bp-player' in (tmp_path / "backprop_frames" / "backprop.html").read_text()
    assert re.search(r"\b1 of 37\b", svg_text(frames[0])) and re.search(r"\b37 of 37\b", svg_text(frames[-1]))
    assert "graph_scalar.svg" in printed and "frames" in printed


def test_scalar_graph_gradients_match_the_tensor_graph():
    """The scalar picture's gradients for one sample are the tensor network's for that sample alone."""
    import numpy as np

    from autograd import Tensor
    from demos.picture_backprop import scalar_graph
    from nn.article_data import Y_ARTICLE, X
    from nn.losses import binary_cross_entropy
    from nn.two_layer import TwoLayerNet

    _, scalar_net = scalar_graph(seed=0, sample=2)
    net = TwoLayerNet(2, 4, 1, seed=0)
    net.load_state_dict(scalar_net.state_dict())
    loss = binary_cross_entropy(net(Tensor(np.asarray(X)[2:3])), np.asarray(Y_ARTICLE)[2:3], reduction="sum")
    loss.backward()
    w1 = np.array([[v.grad for v in row] for row in scalar_net.w1])
    assert np.allclose(w1, net.w1.grad, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------- compare_gradients


def test_compare_gradients_names_the_factor_and_agreement(tmp_path, capsys):
    require_module("graphviz")
    from demos import compare_gradients

    assert compare_gradients.main(["--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out

    total = (tmp_path / "comparison_sum.txt").read_text()
    mean = (tmp_path / "comparison_mean.txt").read_text()
    broken = (tmp_path / "comparison_broken.txt").read_text()
    assert re.search(r"\bpass", total, re.I) and not re.search(r"\bfail", total, re.I)
    assert re.search(r"factor\D{0,12}4\b|\b4(\.0*)? ?(x|×|times)", mean, re.I), mean
    assert re.search(r"\bfail|disagree", broken, re.I), broken
    data = json.loads((tmp_path / "comparison.json").read_text())
    assert set(data) == {"sum", "mean", "broken"}
    for text in (total, mean):
        assert text.splitlines()[-1] in printed  # the tables are printed, not only written


def test_broken_gradient_picture_marks_the_disagreeing_node():
    require_module("graphviz")
    from autograd.viz import WRONG_FILL
    from demos.compare_gradients import broken_dot_source

    source = broken_dot_source(seed=0)
    assert WRONG_FILL in source and "≠ expected" in source
    # exactly the broken parameters are red, the others get the tick
    assert source.count(f'fillcolor="{WRONG_FILL}"') >= 1
    assert "✓" in source


def test_broken_gradient_svg(tmp_path, capsys):
    require_module("graphviz")
    require_dot()
    from demos import compare_gradients

    assert compare_gradients.main(["--out", str(tmp_path)]) == 0
    assert "≠ expected" in svg_text(tmp_path / "graph_broken.svg")


# ---------------------------------------------------------------------- python -m demos


def test_all_demos_write_an_index_that_shows_every_file(tmp_path, capsys):
    require_module("matplotlib")
    require_module("graphviz")
    require_dot()
    from demos.__main__ import main

    out = tmp_path / "out"
    assert main(["--out", str(out), "--epochs", "200", "--no-progress", *FEW_DATA]) == 0
    printed = capsys.readouterr().out

    index = out / "index.html"
    links = referenced(index)
    assert all(p.exists() for p in links), [str(p) for p in links if not p.exists()]
    produced = {p.resolve() for p in out.rglob("*") if p.is_file() and p.name != "index.html"}
    assert produced - links == set(), "files not shown in index.html"
    assert {"loss_curve.png", "graph_scalar.svg", "graph_tensor.svg", "graph_broken.svg", "comparison_mean.txt"} <= {
        p.name for p in produced
    }
    page = index.read_text(encoding="utf-8")
    assert "<pre>" in page and "<img" in page
    assert "not found" not in page  # dot is installed here

    assert re.search(r"epoch +0, loss", printed)
    assert "Final predictions" in printed and "comparison" in printed
    assert index.resolve().as_uri() in printed


def test_index_pictures_pan_and_zoom_and_the_player_is_on_the_page(tmp_path, capsys):
    require_module("matplotlib")
    require_module("graphviz")
    require_dot()
    from demos.__main__ import main

    out = tmp_path / "out"
    assert main(["--out", str(out), "--epochs", "50", "--no-progress", *FEW_DATA]) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"https?://", page), "the page must not need the network"
    pictures = re.findall(r'<img class="bp-pic" src="([^"]+)"', page)
    assert {"graph_broken.svg", "graph_scalar.svg", "graph_tensor.svg", "loss_curve.png"} <= set(pictures)
    assert len(pictures) == page.count("<img")  # every picture in a box
    assert page.count('class="bp-zoom"') == len(pictures) + 1  # and the player's picture
    assert page.count('class="bp-player') == 1 and "window.bpZoom" in page
    assert "white-space: pre-wrap" in page  # text blocks wrap instead of running off the side


def test_index_escapes_text(tmp_path):
    """Text that looks like markup (the tables' '<' signs, say) reaches the page escaped."""
    from types import SimpleNamespace as NS

    from demos import __main__ as demos_main
    from demos._output import OutputFile

    curve, graph = tmp_path / "loss_curve.png", tmp_path / "a&b.svg"
    args = NS(optimizer="sgd<b>", epochs=1, targets="article", seed=0)
    trained = NS(
        result=NS(lr=0.1),
        files=[OutputFile(curve, "curve")],
        log=["epoch 0, loss <script>"],
        table="a < b & c",
        summary="",
    )
    pictures = NS(files=[OutputFile(graph, "<i>")] * 2, frames=[], notes=[], scalar_nodes=1, step_page=None)
    compared = NS(texts={"sum": "x < y"}, files=[])
    page = demos_main.write_index(tmp_path, args, trained, pictures, compared, missing_dot=False).read_text()
    assert "loss <script>" not in page and "&lt;script&gt;" in page
    assert "a &lt; b &amp; c" in page and "sgd&lt;b&gt;" in page and "x &lt; y" in page
    assert 'src="a%26b.svg"' in page and "&lt;i&gt;" in page


def test_without_dot_everything_else_is_written_and_the_fix_is_named(tmp_path, monkeypatch, capsys):
    require_module("matplotlib")
    require_module("graphviz")
    from demos.__main__ import main

    out = tmp_path / "out"
    without_dot(monkeypatch, tmp_path)
    assert main(["--out", str(out), "--epochs", "100", "--no-progress", "--no-data"]) == 0
    printed = capsys.readouterr().out

    assert "apt-get install graphviz" in printed
    assert not list(out.rglob("*.svg")), "no SVG can be drawn without dot"
    for name in ("graph_scalar.dot", "graph_tensor.dot", "graph_broken.dot"):
        assert (out / name).read_text().startswith("digraph"), name
    png_size(out / "loss_curve.png")
    assert (out / "comparison_sum.txt").exists() and (out / "losses.csv").exists()

    page = (out / "index.html").read_text(encoding="utf-8")
    assert "apt-get install graphviz" in page and "graph_scalar.dot" in page
    links = referenced(out / "index.html")
    produced = {p.resolve() for p in out.rglob("*") if p.is_file() and p.name != "index.html"}
    assert produced <= links and all(p.exists() for p in links)


# ---------------------------------------------------------------------- console scripts


def project_scripts() -> dict:
    text = (ROOT / "pyproject.toml").read_text()
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads(text)["project"]["scripts"]
    # Python 3.10 has no tomllib: read the one small table by hand (name = "module:function" lines)
    table = re.search(r"^\[project\.scripts\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    assert table, "no [project.scripts] table in pyproject.toml"
    return dict(re.findall(r'^([\w.-]+)\s*=\s*"([^"]+)"', table.group(1), re.M))


def test_console_scripts_point_at_main_functions():
    scripts = project_scripts()
    assert set(scripts) == {
        "backprop-lab",
        "backprop-lab-train",
        "backprop-lab-graph",
        "backprop-lab-compare",
        "backprop-lab-mistake",
        "backprop-lab-digits",
        "backprop-lab-cancer",
        "backprop-lab-moons",
    }
    for name, target in scripts.items():
        module, _, attr = target.partition(":")
        assert callable(getattr(import_module(module), attr)), name


# every demo that writes into --out and takes --seed (the data demos: test_demos_data.py)
DEMOS = [
    "demos.__main__",
    "demos.train_seed",
    "demos.picture_backprop",
    "demos.compare_gradients",
    "demos.find_the_mistake",
]
TRAINING = ["demos.__main__", "demos.train_seed"]  # the demos with training options


@pytest.mark.parametrize("module", DEMOS)
def test_help(module, capsys):
    with pytest.raises(SystemExit) as exc:
        import_module(module).main(["--help"])
    assert exc.value.code == 0
    assert "--out" in capsys.readouterr().out


# ---------------------------------------------------------------------- bad options, standard JSON, -W error

BAD_OPTIONS = [
    (DEMOS, ["--seed", "-1"], "--seed", "must be a whole number >= 0, got '-1'"),
    (DEMOS, ["--seed", "one"], "--seed", "must be a whole number >= 0, got 'one'"),
    (TRAINING, ["--lr", "-1"], "--lr", "must be a finite number >= 0, got '-1'"),
    (TRAINING, ["--lr", "nan"], "--lr", "must be a finite number >= 0, got 'nan'"),
    (TRAINING, ["--lr", "inf"], "--lr", "must be a finite number >= 0, got 'inf'"),
    (TRAINING, ["--epochs", "0"], "--epochs", "must be a whole number >= 1, got '0'"),
]


def unwritable_folder(tmp_path) -> Path:
    """A folder this process cannot write into (root may write anywhere on a normal file system)."""
    import os

    if os.geteuid() == 0:
        return Path("/proc/backprop-lab-out")  # /proc takes no new files, not even from root
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    return locked / "out"


def expect_usage_error(module, argv, option, capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        import_module(module).main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert re.match(rf"[\w. -]+: error: argument {option}: ", last), err
    return last


@pytest.mark.parametrize(
    "modules, argv, option, message",
    BAD_OPTIONS,
    ids=lambda v: " ".join(v) if isinstance(v, list) and v[0].startswith("-") else None,
)
def test_bad_options_exit_2_naming_the_option_and_create_nothing(tmp_path, capsys, modules, argv, option, message):
    for module in modules:
        out = tmp_path / "new" / "folder"
        last = expect_usage_error(module, [*argv, "--out", str(out)], option, capsys)
        assert last.endswith(message), last
        assert not (tmp_path / "new").exists(), module


@pytest.mark.parametrize("module", DEMOS)
def test_an_out_that_is_a_file_or_unwritable_exits_2(tmp_path, capsys, module):
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")
    assert "it exists and is not a folder" in expect_usage_error(module, ["--out", str(a_file)], "--out", capsys)
    below_a_file = expect_usage_error(module, ["--out", str(a_file / "sub")], "--out", capsys)
    assert "is a file, so no folder can be made below it" in below_a_file
    assert a_file.read_text() == "keep me"
    locked = unwritable_folder(tmp_path)
    assert "cannot write into" in expect_usage_error(module, ["--out", str(locked)], "--out", capsys)
    assert not locked.exists()


def test_json_is_standard_and_says_how_non_finite_numbers_are_written(tmp_path):
    from demos._output import write_json

    path = write_json(tmp_path / "x.json", {"a": float("nan"), "b": [np.inf, -np.inf, np.float32(1.5)], "c": None})

    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")

    data = json.loads(path.read_text(), parse_constant=refuse)
    assert data == {"a": "NaN", "b": ["Infinity", "-Infinity", 1.5], "c": None}
    assert float(data["b"][1]) == -np.inf


def test_training_that_blows_up_says_so_in_one_line(tmp_path, capsys):
    from demos import train_seed

    argv = ["--optimizer", "adam", "--lr", "1e308", "--epochs", "20", "--no-progress", "--out", str(tmp_path / "o")]
    assert train_seed.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "training diverged at epoch" in err[0] and "smaller learning rate" in err[0]


def test_the_demos_run_under_python_W_error(tmp_path):
    """No warning of any kind escapes the demos (numpy's RuntimeWarnings included)."""
    import subprocess

    require_module("matplotlib")
    require_module("graphviz")
    for module, extra in [("demos", FEW_DATA), ("demos.train_seed", ["--optimizer", "adam"])]:
        out = tmp_path / module
        cmd = [
            sys.executable,
            "-W",
            "error",
            "-m",
            module,
            "--out",
            str(out),
            "--epochs",
            "30",
            "--no-progress",
            *extra,
        ]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "Warning" not in done.stderr, done.stderr
        json.loads((out / "training.json").read_text(), parse_constant=lambda t: pytest.fail(f"bare {t} in JSON"))
    json.loads((tmp_path / "demos" / "comparison.json").read_text(), parse_constant=lambda t: pytest.fail(t))


# ----------------------------------------------------------------------------- as a package


def test_version_and_piped_output_without_progress_bars(tmp_path):
    import subprocess
    import sys

    import autograd

    version = subprocess.run(
        [sys.executable, "-m", "demos", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert version == f"backprop-lab {autograd.__version__}" and autograd.__version__ != "0+unknown"
    run = subprocess.run(
        [sys.executable, "-m", "demos.train_seed", "--epochs", "300", "--out", str(tmp_path / "t")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "\r" not in run.stderr and "\r" not in run.stdout  # piped: log lines, no bar redrawn in place
    assert "epoch" in run.stdout


def test_the_install_hint_fits_how_the_package_was_installed():
    from demos._output import INSTALL_EXTRAS

    # this checkout has its pyproject.toml beside the package: an editable install
    assert "pip install -e '.[demos]'" in INSTALL_EXTRAS
