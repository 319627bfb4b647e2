"""The real-data demos (digits, breast cancer, moons): their files, their numbers, their options."""

from __future__ import annotations

import json
import re
import socket
import struct
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import numpy as np
import pytest
from conftest import require_module

ROOT = Path(__file__).resolve().parents[1]
DATA_DEMOS = ["demos.digits", "demos.breast_cancer", "demos.moons"]


@pytest.fixture(autouse=True)
def needs_the_data_extra():
    require_module("sklearn")
    require_module("matplotlib")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def read_json(path: Path):
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token} in {path}")

    return json.loads(path.read_text(), parse_constant=refuse)


# ----------------------------------------------------------------------------- the data


def test_the_loaders_read_data_shipped_with_scikit_learn_and_touch_no_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a data loader tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    from demos import breast_cancer, digits, moons

    split = digits.load_split(0)
    assert split.train_images.shape == (1346, 8, 8) and split.test_images.shape == (451, 8, 8)
    assert split.train_images.min() >= 0.0 and split.train_images.max() <= 1.0
    cancer = breast_cancer.load_split(0)
    assert cancer.x_train.shape == (427, 30) and cancer.x_test.shape == (142, 30)
    x, y = moons.load_moons()
    assert x.shape == (100, 2) and set(np.unique(y)) == {-1.0, 1.0}


def test_the_stratified_split_keeps_each_class_share_and_is_fixed_by_the_seed():
    from demos.digits import stratified_split

    labels = np.repeat(np.arange(4), [10, 21, 40, 3])
    train, test = stratified_split(labels, 0.25, np.random.default_rng(5))
    assert np.intersect1d(train, test).size == 0 and np.union1d(train, test).tolist() == list(range(len(labels)))
    assert np.bincount(labels[test]).tolist() == [3, 5, 10, 1]  # round(0.25 n_c) of each class
    again = stratified_split(labels, 0.25, np.random.default_rng(5))
    other = stratified_split(labels, 0.25, np.random.default_rng(6))
    assert np.array_equal(again[1], test) and not np.array_equal(other[1], test)


def test_breast_cancer_features_are_standardised_with_training_statistics_only():
    from demos.breast_cancer import load_split

    split = load_split(0)
    np.testing.assert_allclose(split.x_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(split.x_train.std(axis=0), 1.0, rtol=1e-12)
    assert np.abs(split.x_test.mean(axis=0)).max() > 1e-3  # the test set's own statistics were not used
    assert set(np.unique(split.y_train)) == {0.0, 1.0} and split.y_train.shape == (427, 1)


def test_random_shifts_move_about_half_the_images_by_at_most_a_pixel():
    from demos.digits import random_shifts

    rng = np.random.default_rng(0)
    images = rng.random((400, 8, 8)) + 1.0  # no blank pixel: a move shows as zeros at an edge
    moved = random_shifts(images, np.random.default_rng(1))
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    unchanged = 0
    for shifted, frame in zip(moved, padded):
        offsets = [
            (dy, dx) for dy in range(3) for dx in range(3) if np.array_equal(frame[dy : dy + 8, dx : dx + 8], shifted)
        ]
        assert offsets, "every image is a copy of the original moved by -1, 0 or +1 pixels"
        unchanged += offsets == [(1, 1)]
    # half are left alone, and a ninth of the others draw the move (0, 0): about 0.5 + 0.5 / 9 = 0.56
    assert 0.45 < unchanged / len(images) < 0.67
    assert moved.shape == images.shape and not np.shares_memory(moved, images)


# ----------------------------------------------------------------------------- digits


def test_digits_writes_metrics_curves_confusion_and_misclassified(tmp_path, capsys):
    from demos import digits

    out = tmp_path / "digits"
    assert digits.main(["--epochs", "2", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out

    data = read_json(out / "metrics.json")
    assert data["data"]["train_size"] == 1346 and data["data"]["test_size"] == 451
    assert sum(data["data"]["test_per_class"]) == 451 and min(data["data"]["test_per_class"]) >= 44
    assert data["settings"]["epochs"] == 2 and data["settings"]["batch_size"] == 32 and data["settings"]["compiled"]
    for name in ("mlp", "cnn"):
        model = data[name]
        assert 0.5 < model["test_accuracy"] <= 1.0, name  # two epochs already learn most digits
        assert [h["epoch"] for h in model["history"]] == [1, 2]
        assert model["history"][-1]["test_accuracy"] == model["test_accuracy"]
        assert model["history"][1]["loss"] < model["history"][0]["loss"]
        confusion = np.array(model["confusion_matrix"])
        assert confusion.shape == (10, 10) and confusion.sum() == 451
        assert np.trace(confusion) / 451 == pytest.approx(model["test_accuracy"])
        assert model["test_errors"] == 451 - np.trace(confusion)
    assert data["mlp"]["parameters"] == 64 * 256 + 256 + 256 * 10 + 10
    assert data["cnn"]["parameters"] == 16 * 9 + 16 + 32 * 16 * 9 + 32 + 128 * 10 + 10

    for name in ("training_curves.png", "confusion_matrix.png", "misclassified.png"):
        width, height = png_size(out / name)
        assert width >= 500 and height >= 250, name
        assert name in printed
    assert re.search(r"^mlp epoch 1: loss \d\.\d{4}, test accuracy 0\.\d{4}$", printed, re.M)
    assert re.search(r"^CNN: test accuracy 0\.\d{4} \(\d+ of 451 wrong\), 6090 parameters", printed, re.M)


@pytest.mark.parametrize("name, epochs", [("mlp", 2), ("cnn", 1)])
def test_compiled_digits_training_equals_eager(name, epochs):
    from demos import digits

    split = digits.load_split(0)
    model_c, compiled = digits.train(name, split, epochs=epochs, compiled=True)
    model_e, eager = digits.train(name, split, epochs=epochs, compiled=False)
    for c, e in zip(compiled.history, eager.history):
        assert c["loss"] == pytest.approx(e["loss"], rel=1e-12)
        assert c["test_accuracy"] == e["test_accuracy"]
    for (key, a), (_, b) in zip(model_c.state_dict().items(), model_e.state_dict().items()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13, err_msg=key)
    assert np.array_equal(compiled.predictions, eager.predictions)


def test_the_compiled_step_is_replayed_not_recorded_again(monkeypatch):
    """One recording for a whole run: the batches keep their shapes (the last short batch is left out)."""
    import autograd
    from demos import digits

    made = []
    real_compile = autograd.compile
    monkeypatch.setattr(autograd, "compile", lambda fn: made.append(real_compile(fn)) or made[-1])
    split = digits.load_split(0)
    digits.train("mlp", split, epochs=3, batch_size=100)
    # recorded at the first step, and once more by compile's one-time check of the second: 39 steps replayed
    assert len(made) == 1 and made[0].traces == 2


def test_the_cosine_schedule_runs_from_lr_towards_zero():
    from demos.digits import cosine_lr

    assert cosine_lr(0.01, 1, 30) == 0.01
    rates = [cosine_lr(0.01, e, 30) for e in range(1, 31)]
    assert all(a > b for a, b in zip(rates, rates[1:])) and 0 < rates[-1] < 1e-4


# ----------------------------------------------------------------------------- breast cancer


def test_breast_cancer_trains_and_checks_the_articles_gradients_on_a_real_batch(tmp_path, capsys):
    from demos import breast_cancer

    out = tmp_path / "cancer"
    argv = ["--epochs", "40", "--check-batch", "16", "--out", str(out), "--no-progress"]
    assert breast_cancer.main(argv) == 0
    printed = capsys.readouterr().out

    data = read_json(out / "metrics.json")
    assert len(data["history"]) == 40 and data["history"][-1]["loss"] < data["history"][0]["loss"]
    assert data["test_accuracy"] == data["history"][-1]["test_accuracy"] and data["test_accuracy"] > 0.8
    assert np.array(data["confusion_matrix"]["counts"]).sum() == 142
    assert data["settings"]["network"] == "nn.TwoLayerNet(30, 4, 1)"
    assert data["gradient_check"] == {"batch": 16, "sum_passed": True, "mean_factor": pytest.approx(16.0)}

    text = (out / "gradient_check.txt").read_text()
    assert "gradients of the sum BCE over N = 16: PASSED" in text
    assert "all 8 manual gradients agree with the engine's" in text  # every step of the derivation
    assert "manual = 16 x automatic in every parameter: factor N = 16" in text
    assert "first wrong step: p (factor 16 = N" in text
    check = read_json(out / "gradient_check.json")
    assert check["sum"]["passed"] and not check["mean"]["passed"]
    assert [row["name"] for row in check["sum"]["rows"]] == ["w1", "b1", "w2", "b2"]
    assert [len(row["manual"]) for row in check["sum"]["rows"]] == [30, 1, 4, 1]
    png_size(out / "training_curve.png")
    assert "PASSED" in printed and "factor N = 16" in printed


def test_breast_cancer_training_that_blows_up_says_so_in_one_line(tmp_path, capsys):
    from demos import breast_cancer

    argv = ["--epochs", "30", "--lr", "1e308", "--no-progress", "--out", str(tmp_path / "o")]
    assert breast_cancer.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "training diverged at epoch" in err[0] and "smaller learning rate" in err[0]
    assert not (tmp_path / "o" / "metrics.json").exists()


def test_digits_training_that_blows_up_says_so_in_one_line(tmp_path, capsys):
    from demos import digits

    argv = ["--epochs", "1", "--lr", "1e308", "--no-progress", "--out", str(tmp_path / "o")]
    assert digits.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "MLP: training diverged at epoch 1" in err[0] and "smaller learning rate" in err[0]


# ----------------------------------------------------------------------------- moons


def test_moons_trains_value_and_tensor_alike_and_draws_both_boundaries(tmp_path, capsys):
    from demos import moons

    out = tmp_path / "moons"
    assert moons.main(["--steps", "6", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    data = read_json(out / "metrics.json")
    value, tensor = data["value"]["history"], data["tensor"]["history"]
    assert [h["step"] for h in value] == list(range(6)) and [h["lr"] for h in value][:2] == [1.0, 1.0 - 0.9 / 6]
    np.testing.assert_allclose([h["loss"] for h in value], [h["loss"] for h in tensor], rtol=1e-12)
    assert [h["accuracy"] for h in value] == [h["accuracy"] for h in tensor]
    assert data["max_loss_difference"] < 1e-12
    for engine in ("value", "tensor"):
        width, height = png_size(out / f"decision_boundary_{engine}.png")
        assert width >= 400 and height >= 300
    assert re.search(r"^ value step 0: loss 0\.\d{6}, accuracy \d+%$", printed, re.M)


def test_moons_is_micrograds_demo(tmp_path):
    """The same points, initial weights and first steps as micrograd's own engine and MLP."""
    require_module("micrograd")
    import random

    from micrograd.engine import Value as MicrogradValue
    from micrograd.nn import MLP as MicrogradMLP

    from demos import moons

    x, y = moons.load_moons()
    model = moons.value_mlp()
    random.seed(moons.DEFAULT_SEED)
    theirs = MicrogradMLP(2, [16, 16, 1])
    assert [p.data for p in model.parameters()] == [p.data for p in theirs.parameters()]
    for k in range(2):
        lr = moons.learning_rate_at(k, 100)
        ours, _ = moons.value_step(model, x, y, lr)
        scores = [theirs([MicrogradValue(a), MicrogradValue(b)]) for a, b in x.tolist()]
        losses = [(1 + -yi * si).relu() for yi, si in zip(y.tolist(), scores)]
        total = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in theirs.parameters())
        theirs.zero_grad()
        total.backward()
        for p in theirs.parameters():
            p.data -= lr * p.grad
        assert ours == pytest.approx(total.data, rel=1e-12)


# ----------------------------------------------------------------------------- the targets


def test_the_default_options_reach_the_accuracy_targets(tmp_path, capsys):
    """The defaults of each demo, end to end: digits MLP >= 0.97 and CNN >= 0.98, breast cancer >= 0.95,
    micrograd's moons separated (100%). About 10 s on two cores."""
    from demos import breast_cancer, digits, moons

    assert digits.main(["--out", str(tmp_path / "digits"), "--no-progress"]) == 0
    assert breast_cancer.main(["--out", str(tmp_path / "cancer"), "--no-progress"]) == 0
    assert moons.main(["--out", str(tmp_path / "moons"), "--no-progress"]) == 0
    capsys.readouterr()
    found = read_json(tmp_path / "digits" / "metrics.json")
    assert found["settings"]["epochs"] == digits.DEFAULT_EPOCHS == 30
    assert found["mlp"]["test_accuracy"] >= 0.97, found["mlp"]["test_accuracy"]
    assert found["cnn"]["test_accuracy"] >= 0.98, found["cnn"]["test_accuracy"]
    cancer = read_json(tmp_path / "cancer" / "metrics.json")
    assert cancer["test_accuracy"] >= 0.95, cancer["test_accuracy"]
    assert cancer["gradient_check"]["sum_passed"]
    two_moons = read_json(tmp_path / "moons" / "metrics.json")
    assert two_moons["value"]["accuracy"] == two_moons["tensor"]["accuracy"] == 1.0
    assert two_moons["value"]["final_loss"] == pytest.approx(0.010978, abs=1e-6)  # micrograd's demo ends at 0.011


# ----------------------------------------------------------------------------- options and the page


BAD_OPTIONS = [
    ("demos.digits", ["--seed", "-1"], "--seed", "must be a whole number >= 0, got '-1'"),
    ("demos.digits", ["--epochs", "0"], "--epochs", "must be a whole number >= 1, got '0'"),
    ("demos.digits", ["--batch-size", "0"], "--batch-size", "must be a whole number >= 1, got '0'"),
    ("demos.digits", ["--batch-size", "5000"], "--batch-size", "must be a whole number from 1 to 1024, got '5000'"),
    ("demos.digits", ["--lr", "nan"], "--lr", "must be a finite number >= 0, got 'nan'"),
    ("demos.breast_cancer", ["--epochs", "x"], "--epochs", "must be a whole number >= 1, got 'x'"),
    ("demos.breast_cancer", ["--lr", "-1"], "--lr", "must be a finite number >= 0, got '-1'"),
    ("demos.breast_cancer", ["--hidden", "0"], "--hidden", "must be a whole number >= 1, got '0'"),
    ("demos.breast_cancer", ["--hidden", "1000"], "--hidden", "must be a whole number from 1 to 256, got '1000'"),
    ("demos.breast_cancer", ["--check-batch", "500"], "--check-batch", "from 1 to 256, got '500'"),
    ("demos.breast_cancer", ["--seed", "one"], "--seed", "must be a whole number >= 0, got 'one'"),
    ("demos.moons", ["--steps", "0"], "--steps", "must be a whole number >= 1, got '0'"),
    ("demos.moons", ["--seed", "-3"], "--seed", "must be a whole number >= 0, got '-3'"),
    ("demos.__main__", ["--digits-epochs", "0"], "--digits-epochs", "must be a whole number >= 1, got '0'"),
    ("demos.__main__", ["--cancer-epochs", "-2"], "--cancer-epochs", "must be a whole number >= 1, got '-2'"),
    ("demos.__main__", ["--moons-steps", "1.5"], "--moons-steps", "must be a whole number >= 1, got '1.5'"),
]


@pytest.mark.parametrize(
    "module, argv, option, message", BAD_OPTIONS, ids=lambda v: " ".join(v) if isinstance(v, list) else None
)
def test_bad_options_exit_2_naming_the_option_and_create_nothing(tmp_path, capsys, module, argv, option, message):
    out = tmp_path / "new" / "folder"
    with pytest.raises(SystemExit) as exc:
        import_module(module).main([*argv, "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert "Traceback" not in err and re.match(rf"[\w. -]+: error: argument {option}: ", last), err
    assert last.endswith(message), last
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("module", DATA_DEMOS)
def test_an_out_that_is_a_file_exits_2_and_help_names_the_options(tmp_path, capsys, module):
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")
    with pytest.raises(SystemExit) as exc:
        import_module(module).main(["--out", str(a_file)])
    assert exc.value.code == 2 and "it exists and is not a folder" in capsys.readouterr().err
    assert a_file.read_text() == "keep me"
    with pytest.raises(SystemExit) as exc:
        import_module(module).main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "--out" in text and "--seed" in text and "--no-progress" in text


@pytest.mark.parametrize("module", DATA_DEMOS)
def test_without_scikit_learn_the_demo_names_the_extra_and_creates_nothing(tmp_path, monkeypatch, module):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        import_module(module).main(["--out", str(out), "--no-progress"])
    assert "scikit-learn" in str(exc.value.code) and "[demos,data]" in str(exc.value.code)
    assert not out.exists()


def test_the_index_page_skips_the_data_demos_with_the_reason(monkeypatch):
    import importlib.util
    from types import SimpleNamespace as NS

    from demos import __main__ as demos_main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a))
    data = demos_main.run_data_demos(Path("unused"), NS(no_data=False, no_progress=True))
    assert data.files == [] and "scikit-learn" in data.skipped and "[demos,data]" in data.skipped
    page = "".join(demos_main.data_sections(data, None, None, None))
    assert 'class="warn"' in page and "pip install" in page
    assert (
        demos_main.run_data_demos(Path("unused"), NS(no_data=True, no_progress=True)).skipped == "skipped (--no-data)"
    )


def test_the_index_page_shows_each_data_demo_in_its_section(tmp_path, capsys):
    require_module("graphviz")
    from demos.__main__ import main

    out = tmp_path / "out"
    argv = ["--out", str(out), "--epochs", "20", "--no-frames", "--no-progress"]
    assert main([*argv, "--digits-epochs", "2", "--cancer-epochs", "10", "--moons-steps", "3"]) == 0
    printed = capsys.readouterr().out
    page = (out / "index.html").read_text(encoding="utf-8")
    sections = {m.group(1): m.start() for m in re.finditer(r'<h2 id="([\w-]+)">', page)}
    assert list(sections)[-4:] == ["digits", "breast-cancer", "moons", "files"]
    pictures = re.findall(r'<img class="bp-pic" src="([^"]+)"', page)
    expected = [
        "digits/training_curves.png",
        "digits/confusion_matrix.png",
        "digits/misclassified.png",
        "breast_cancer/training_curve.png",
        "moons/decision_boundary_value.png",
        "moons/decision_boundary_tensor.png",
    ]
    assert pictures[-6:] == expected
    for path in expected:
        assert (out / path).exists()
    digits_metrics = read_json(out / "digits" / "metrics.json")
    digits_part = page[sections["digits"] : sections["breast-cancer"]]
    assert f"<td>{digits_metrics['cnn']['test_accuracy']:.4f}</td>" in digits_part
    assert "gradients of the sum BCE over N = 32: PASSED" in page[sections["breast-cancer"] : sections["moons"]]
    assert "== 5. Handwritten digits" in printed and "== 7. micrograd" in printed


def test_piped_output_has_log_lines_and_no_progress_bar(tmp_path):
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "demos.moons", "--steps", "3", "--out", str(tmp_path / "m")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stdout and "\r" not in done.stderr and "Warning" not in done.stderr
    assert "tensor step 2: loss" in done.stdout


def test_progress_writes_plain_lines_when_stderr_is_not_a_terminal(capsys):
    from demos._output import Progress

    with Progress(3, "x", "step") as bar:
        assert bar.bar is None  # pytest captures stderr: not a terminal
        bar.log("one line")
        bar.update()
    assert capsys.readouterr().out == "one line\n"
