"""Manual, automatic and numerical gradients of the article's network, side by side.

- manual: ``NumpyTwoLayerNet.derivation`` (the article's hand-derived chain rule, every step);
- automatic: the engine's gradients of the binary cross-entropy (with the chosen reduction) on an
  autograd network holding the same weights (``TwoLayerNet`` or ``ScalarTwoLayerNet``), through
  ``autograd.check_manual``, which also finds the first wrong step and says how it is wrong;
- numeric: central differences ``(L(θ + ε) - L(θ - ε)) / 2ε`` of the same loss on the numpy reference.

When two of them differ by a constant factor (the article's sum-versus-mean quirk gives factor N) the
report names it: the factor is the least-squares ratio ``r = <a, b> / <b, b>``, accepted when the
residual ``|a - r b| / |a|`` is tiny.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from autograd import Tensor
from autograd.diagnosis import constant_factor
from autograd.gradcheck import central_differences, elementwise_agreement
from autograd.manual import ManualCheck, check_manual

from .losses import binary_cross_entropy
from .reference import NumpyTwoLayerNet
from .two_layer import ScalarTwoLayerNet, TwoLayerNet

PARAMETERS = ("w1", "b1", "w2", "b2")


@dataclass
class Agreement:
    """How closely gradient ``a`` matches gradient ``b``."""

    max_abs: float
    max_rel: float
    worst: tuple  # index of the element with the largest excess over the tolerance
    agree: bool
    factor: float | None  # a ≈ factor * b, when that holds and factor is not 1

    def describe(self) -> str:
        text = f"{self.max_abs:9.2e} {self.max_rel:9.2e} {str(self.worst):<7}"
        return text + (" ok  " if self.agree else " DIFF")


@dataclass
class GradientRow:
    """One parameter: the three gradients and their pairwise agreement."""

    name: str
    shape: tuple
    manual: np.ndarray
    automatic: np.ndarray
    numeric: np.ndarray
    manual_vs_automatic: Agreement
    manual_vs_numeric: Agreement
    automatic_vs_numeric: Agreement

    @property
    def passed(self) -> bool:
        return self.manual_vs_automatic.agree and self.manual_vs_numeric.agree and self.automatic_vs_numeric.agree


@dataclass
class GradientReport:
    """Per-parameter rows; ``passed`` when all three gradients agree everywhere. ``str()`` is a table."""

    rows: list[GradientRow] = field(default_factory=list)
    reduction: str = "sum"
    n_samples: int = 0
    rtol: float = 1e-7
    atol: float = 1e-10
    numeric_rtol: float = 1e-5
    numeric_atol: float = 1e-8
    check: ManualCheck | None = None  # every manual step against the engine, with the first wrong one

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows) and (self.check is None or self.check.passed)

    def __bool__(self) -> bool:
        return self.passed

    def common_factor(self, pair: str = "manual_vs_automatic") -> float | None:
        """The factor shared by every parameter for ``pair`` (e.g. N for the article's sum vs a mean), else None."""
        factors = [getattr(r, pair).factor for r in self.rows]
        if not factors or any(f is None for f in factors):
            return None
        if max(factors) - min(factors) > 1e-6 * max(abs(f) for f in factors):
            return None
        return float(np.mean(factors))

    def notes(self) -> list:
        """Sentences explaining constant factors between the gradients."""
        out = []
        names = {
            "manual_vs_automatic": ("manual", "automatic"),
            "manual_vs_numeric": ("manual", "numeric"),
            "automatic_vs_numeric": ("automatic", "numeric"),
        }
        for pair, (a, b) in names.items():
            f = self.common_factor(pair)
            if f is None:
                continue
            text = f"{a} = {_number(f)} x {b} in every parameter"
            if abs(f - self.n_samples) < 1e-6 * self.n_samples:
                text += (
                    f": factor N = {self.n_samples}, the {a} gradient is of the summed loss and the {b} "
                    f"one of the mean (the article's sum-versus-mean quirk)"
                )
            elif abs(f * self.n_samples - 1) < 1e-6:
                text += (
                    f": factor 1/N (N = {self.n_samples}), the {a} gradient is of the mean loss and the {b} of the sum"
                )
            out.append(text)
        for r in self.rows:
            for pair, (a, b) in names.items():
                f = getattr(r, pair).factor
                if f is not None and self.common_factor(pair) is None:
                    out.append(f"{r.name}: {a} = {_number(f)} x {b}")
        return out

    def __str__(self) -> str:
        head = (
            f"gradients of the {self.reduction} BCE over N = {self.n_samples}: "
            f"{'PASSED' if self.passed else 'FAILED'} "
            f"(manual~automatic rtol={self.rtol:g} atol={self.atol:g}; "
            f"vs numeric rtol={self.numeric_rtol:g} atol={self.numeric_atol:g})"
        )
        sub = f"{'max abs':>9} {'max rel':>9} {'worst':<12}"
        lines = [
            head,
            f"{'param':<6} {'shape':<8} | {'manual ~ automatic':<32} | {'manual ~ numeric':<32} | automatic ~ numeric",
            f"{'':<6} {'':<8} | {sub} | {sub} | {sub}",
        ]
        for r in self.rows:
            lines.append(
                f"{r.name:<6} {str(r.shape):<8} | {r.manual_vs_automatic.describe()} | "
                f"{r.manual_vs_numeric.describe()} | {r.automatic_vs_numeric.describe()}"
            )
        lines += [f"note: {n}" for n in self.notes()]
        if self.check is not None and not self.check.passed:
            lines.append(f"steps: {self.check.verdict}")
        return "\n".join(line.rstrip() for line in lines)

    def to_dict(self) -> dict:
        """Plain data (lists and numbers) for JSON."""
        d = {k: v for k, v in asdict(self).items() if k not in ("rows", "check")}
        d["check"] = None if self.check is None else self.check.to_dict()
        d["passed"] = self.passed
        d["notes"] = self.notes()
        d["rows"] = []
        for r in self.rows:
            row = {"name": r.name, "shape": list(r.shape), "passed": r.passed}
            for k in ("manual", "automatic", "numeric"):
                row[k] = getattr(r, k).tolist()
            for k in ("manual_vs_automatic", "manual_vs_numeric", "automatic_vs_numeric"):
                row[k] = {**asdict(getattr(r, k)), "worst": list(getattr(r, k).worst)}
            d["rows"].append(row)
        return d


def compare_gradients(
    reference: NumpyTwoLayerNet,
    network: TwoLayerNet | ScalarTwoLayerNet,
    x: ArrayLike,
    y: ArrayLike,
    reduction: str = "sum",
    rtol: float = 1e-7,
    atol: float = 1e-10,
    manual: Mapping[str, ArrayLike] | None = None,
    eps: float = 1e-6,
    numeric_rtol: float = 1e-5,
    numeric_atol: float = 1e-8,
) -> GradientReport:
    """Compare ``reference.gradients(x, y)`` (or the given ``manual`` dict) with ``network``'s automatic
    gradients of BCE(reduction) and with central differences; see the module docstring.

    ``network`` must hold the reference's weights (``network.load_state_dict(reference.state_dict())``).
    Manual and automatic agree when ``|m - a| <= atol + rtol |a|``; each against the numeric
    gradient with ``numeric_rtol`` and ``numeric_atol`` (finite differences carry ~1e-9 of error).
    """
    if reduction not in ("sum", "mean"):
        raise ValueError(f"compare_gradients: reduction must be 'sum' or 'mean', got {reduction!r}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    weights = reference.state_dict()
    state = network.state_dict()
    for name in PARAMETERS:
        if (
            name not in state
            or state[name].shape != weights[name].shape
            or not np.array_equal(state[name], weights[name])
        ):
            raise ValueError(
                f"compare_gradients: the network's {name!r} differs from the reference's; "
                f"call network.load_state_dict(reference.state_dict()) first"
            )
    if manual is None:
        manual = reference.derivation(x, y)
    missing = [name for name in PARAMETERS if name not in manual]
    if missing:
        raise ValueError(f"compare_gradients: manual has no gradient for {', '.join(map(repr, missing))}")
    loss, names = article_graph(network, x, y, reduction)
    check = check_manual(loss, manual, names=names, rtol=rtol, atol=atol)
    numeric = numeric_gradients(weights, x, y, reduction, eps)
    report = GradientReport(
        reduction=reduction,
        n_samples=len(x),
        rtol=rtol,
        atol=atol,
        numeric_rtol=numeric_rtol,
        numeric_atol=numeric_atol,
        check=check,
    )
    for name in PARAMETERS:
        step = check.row(name)
        m, a = step.manual.astype(np.float64), step.automatic.astype(np.float64)
        n = np.asarray(numeric[name], dtype=np.float64)
        report.rows.append(
            GradientRow(
                name=name,
                shape=m.shape,
                manual=m,
                automatic=a,
                numeric=n,
                manual_vs_automatic=Agreement(
                    max_abs=step.max_abs,
                    max_rel=step.max_rel,
                    worst=step.worst,
                    agree=step.close,
                    factor=None if step.diagnosis is None else step.diagnosis.details.get("factor"),
                ),
                manual_vs_numeric=agreement(m, n, numeric_rtol, numeric_atol),
                automatic_vs_numeric=agreement(a, n, numeric_rtol, numeric_atol),
            )
        )
    return report


def article_graph(
    network: TwoLayerNet | ScalarTwoLayerNet, x: ArrayLike, y: ArrayLike, reduction: str = "sum"
) -> tuple[Any, dict[str, Any]]:
    """The engine's build of the article's network on a batch: ``(loss, names)``.

    ``names`` maps the node names of the article's derivation (``NumpyTwoLayerNet.derivation``) to
    nodes: ``z1 = x @ w1 + b1``, ``h = s(z1)``, ``z2 = h @ w2 + b2``, ``p = s(z2)``, ``loss``, and the
    weights. For a ``ScalarTwoLayerNet`` each name is a nest of Values shaped like the array it stands
    for (``w1[i][j]``, ``h[n][j]``, ...).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if isinstance(network, TwoLayerNet):
        xt, yt = Tensor(x, label="x"), Tensor(y, label="y")
        p = network(xt)
        z2 = p.parents[0]
        h = z2.parents[0]
        z1 = h.parents[0]
        loss = binary_cross_entropy(p, yt, reduction=reduction)
        weights = {name: getattr(network, name) for name in PARAMETERS}
        return loss, {"x": xt, "y": yt, **weights, "z1": z1, "h": h, "z2": z2, "p": p, "loss": loss}
    p = network(x)
    loss = binary_cross_entropy(p, y, reduction=reduction)
    # a unit is sigmoid(weighted_sum(w_1..w_n, x_1..x_n, b)): its inputs x_j sit at positions n..2n-1
    z2 = [[v.parents[0] for v in row] for row in p]
    hidden = len(network.w2)
    h = [list(row[0].parents[hidden : 2 * hidden]) for row in z2]
    z1 = [[v.parents[0] for v in row] for row in h]
    weights = {name: getattr(network, name) for name in PARAMETERS}
    return loss, {**weights, "z1": z1, "h": h, "z2": z2, "p": p, "loss": loss}


def broken_manual_gradients(reference: NumpyTwoLayerNet, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """The article's manual gradients with a classic bug: the hidden layer's sigmoid derivative is missing.

    ``d_hidden = d_output @ w2^T`` instead of ``(d_output @ w2^T) * h (1 - h)``, so ``w1`` and ``b1``
    come out wrong (by a different factor per element) while ``w2`` and ``b2`` stay right.
    """
    steps = reference.derivation(x, y, replace={"z1": lambda d, v: d["h"]})
    return {name: steps[name] for name in PARAMETERS}


def numeric_gradients(
    weights: Mapping[str, ArrayLike], x: np.ndarray, y: np.ndarray, reduction: str = "sum", eps: float = 1e-6
) -> dict[str, np.ndarray]:
    """Central differences of the reference's BCE (``reduction`` "sum" or "mean") in each weight."""
    w1, b1, w2, b2 = (np.array(weights[k], dtype=np.float64) for k in PARAMETERS)
    net = NumpyTwoLayerNet(w1.shape[0], w1.shape[1], w2.shape[1])
    net.w1, net.b1, net.w2, net.b2 = w1, b1, w2, b2
    scale = len(x) if reduction == "sum" else 1

    def loss():
        return net.loss(net.forward(x), y) * scale

    return {name: central_differences(loss, getattr(net, name), eps) for name in PARAMETERS}


def agreement(a: ArrayLike, b: ArrayLike, rtol: float, atol: float) -> Agreement:
    """Compare ``a`` with ``b`` elementwise (``|a - b| <= atol + rtol |b|``) and look for a constant factor."""
    max_abs, max_rel, worst, agree = elementwise_agreement(a, b, atol, rtol)
    return Agreement(
        max_abs=max_abs,
        max_rel=max_rel,
        worst=worst,
        agree=agree,
        factor=None if agree else constant_factor(a, b),
    )


def _number(f: float) -> str:
    return f"{f:.6g}"
