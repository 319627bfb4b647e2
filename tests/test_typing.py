"""The public API type-checks: a small user program passes mypy --strict, and misuses are reported.

The program is checked against this checkout's ``autograd`` and ``nn`` (MYPYPATH), with the errors of
those packages themselves silenced (CI checks them on their own), so what is tested is what a user
sees: every call below resolves to annotated signatures, and wrong arguments are caught.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import require_module

ROOT = Path(__file__).resolve().parents[1]

PROGRAM = """
import numpy as np

import autograd
import nn
from autograd import Tensor, Value, func, no_grad
from autograd.viz import draw_graph


def train_tensor_model(steps: int) -> float:
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((8, 3)))
    y = Tensor((rng.standard_normal((8, 1)) > 0).astype(np.float64))
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 1, rng=1), nn.Sigmoid())
    opt = nn.Adam(model.parameters(), lr=0.01)
    loss = Tensor(0.0)
    for _ in range(steps):
        opt.zero_grad()
        p: Tensor = model(x)
        loss = nn.binary_cross_entropy(p, y)
        loss.backward()
        opt.step()
    with no_grad():
        accuracy = ((model(x).data > 0.5) == (y.data > 0.5)).mean()
    return loss.item() + 0.0 * float(accuracy)


def micrograd_style() -> float:
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = (a * b + 1.0).tanh() ** 2 - a / 4
    c.backward()
    mlp = nn.MLP(3, [4, 1])
    sgd = nn.SGD(mlp.parameters(), lr=0.05)
    out = mlp.forward([1.0, 2.0, 3.0])
    if isinstance(out, Value):
        out.backward()
    sgd.step()
    return c.data + float(a.grad)


def gradients() -> list[float]:
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (gx,) = autograd.grad((x**2).sum(), x)
    second = func.grad(lambda t: (t**3).sum())(np.array([1.0, 2.0]))
    hess = func.hessian(lambda t: (t**3).sum())(np.array([1.0, 2.0]))
    check = autograd.gradcheck(lambda t: (t * t).sum(), Tensor([0.5, -1.5], requires_grad=True))
    report = autograd.check_manual((x * x).sum(), {"x": 2 * x.data}, names={"x": x})
    return [float(np.sum(gx)), float(np.sum(second)), float(np.sum(hess)), float(check.passed), float(report.passed)]


def compiled_step_and_picture(w: Tensor) -> str:
    @autograd.compile
    def step(x: Tensor) -> Tensor:
        return (x @ w).relu().sum()

    step(Tensor(np.ones((2, 3))))
    picture: str = draw_graph((w * 2).sum(), rankdir="TB").source  # graphviz has no type information
    return picture + str(step.traces)
"""

MISUSES = {  # a line of code -> a word mypy's message about it names
    "nn.functional.relu('not a tensor')": '"relu"',
    "autograd.Tensor([1.0, 2.0]).sum(axis='0')": '"sum"',
    "nn.Linear('3', 4)": '"Linear"',
    "autograd.grad(autograd.Tensor([1.0]).sum(), 'x')": '"grad"',
    "autograd.Value(1.0) + 'one'": '"Value" and "str"',
}


def test_a_user_program_type_checks_and_misuses_are_reported(tmp_path, monkeypatch):
    api = require_module("mypy.api")
    good = tmp_path / "good.py"
    good.write_text(textwrap.dedent(PROGRAM))
    bad = tmp_path / "bad.py"
    bad.write_text("import autograd\nimport nn\n\n" + "".join(f"{line}\n" for line in MISUSES))
    monkeypatch.setenv("MYPYPATH", str(ROOT))
    stdout, stderr, status = api.run(
        [
            "--strict",
            "--follow-imports=silent",
            "--python-version=3.10",
            "--ignore-missing-imports",
            "--no-error-summary",
            f"--cache-dir={tmp_path / 'cache'}",
            "--config-file=",
            str(good),
            str(bad),
        ]
    )
    assert stderr == "", stderr
    lines = [line for line in stdout.splitlines() if ": error:" in line]
    assert not [line for line in lines if line.startswith(str(good))], stdout
    reported = {int(line.split(":")[1]): line for line in lines if line.startswith(str(bad))}
    for k, (misuse, named) in enumerate(MISUSES.items(), start=4):
        assert k in reported, f"mypy did not report line {k}, {misuse!r}:\n{stdout}"
        assert named in reported[k], reported[k]
    assert status == 1
