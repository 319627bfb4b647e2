"""Find the mistake in a hand derivation: the first wrong step, how it is wrong, and the right line.

1. The article's derivation (``NumpyTwoLayerNet.derivation``) with one mistake planted at a time:
   for each, ``autograd.check_manual`` names the first wrong step and the kind of mistake.
2. A deeper network written out op by op, as courses on backprop derive it by hand: an embedding
   lookup, a linear layer, batch norm (mean, variance, square root, division), tanh, a linear
   layer, and softmax cross-entropy (max, exp, sum, division, log, indexing, mean): 30 gradients
   derived by hand, one of them wrong. The table, the verdict, the right line from
   ``autograd.backward_code``, and a picture of the graph.

    python -m demos.find_the_mistake --out out [--seed 0] [--mistake wrong_point]

Writes ``mistakes_article.txt``, ``mistake_batchnorm.txt``, ``mistakes.json``,
``batchnorm_backward.py`` (the whole backward pass as numpy code) and ``graph_mistake.svg``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field

import numpy as np

from demos._output import (
    INSTALL_GRAPHVIZ,
    OutputFile,
    add_seed_option,
    demo_parser,
    output_dir,
    print_written,
    render_quietly,
)

DEFAULT_SEED = 0
EPS = 1e-5  # batch norm's epsilon under the square root


# ----------------------------------------------------------------------------- the deeper network


@dataclass
class Network:
    """A built graph: its ``loss`` and every node by name (labels), plus the integer inputs."""

    loss: object
    nodes: dict
    tokens: np.ndarray
    labels: np.ndarray

    def values(self, dtype=None) -> dict:
        """What a hand derivation reads: every node's value (in ``dtype`` if given), ``tokens``,
        ``labels`` and the batch size ``n``."""
        v = {name: (t.data if dtype is None else t.data.astype(dtype)) for name, t in self.nodes.items()}
        return {**v, "tokens": self.tokens, "labels": self.labels, "n": len(self.labels)}


def batchnorm_network(seed=DEFAULT_SEED, n=8, block=2, vocab=10, width=3, hidden=6, classes=5) -> Network:
    """An MLP on token pairs with batch norm and softmax cross-entropy, op by op, every node labelled.

    ``emb = C[tokens]``, ``embcat = emb.reshape(n, -1)``, ``hprebn = embcat @ W1 + b1``, batch norm
    ``hpreact = gamma (hprebn - mean) / sqrt(var + eps) + beta`` (biased variance), ``h = tanh``,
    ``logits = h @ W2 + b2``, ``loss = -mean(log softmax(logits)[range(n), labels])``.
    """
    from autograd import Tensor

    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, vocab, (n, block))
    labels = rng.integers(0, classes, n)

    def param(label, shape, scale, offset=0.0):
        return Tensor(offset + scale * rng.standard_normal(shape), requires_grad=True, label=label)

    nodes = {}

    def named(t, label):
        t.label = label
        nodes[label] = t
        return t

    C = named(param("C", (vocab, width), 1.0), "C")
    W1 = named(param("W1", (block * width, hidden), (block * width) ** -0.5), "W1")
    b1 = named(param("b1", (hidden,), 0.1), "b1")
    gamma = named(param("gamma", (1, hidden), 0.1, offset=1.0), "gamma")
    beta = named(param("beta", (1, hidden), 0.1), "beta")
    W2 = named(param("W2", (hidden, classes), hidden**-0.5), "W2")
    b2 = named(param("b2", (classes,), 0.1), "b2")

    emb = named(C[tokens], "emb")
    embcat = named(emb.reshape(n, block * width), "embcat")
    embcatW1 = named(embcat @ W1, "embcatW1")
    hprebn = named(embcatW1 + b1, "hprebn")
    bnsum = named(hprebn.sum(axis=0, keepdims=True), "bnsum")
    bnmean = named(bnsum / n, "bnmean")
    bndiff = named(hprebn - bnmean, "bndiff")
    bndiff2 = named(bndiff**2, "bndiff2")
    bnvar = named(bndiff2.mean(axis=0, keepdims=True), "bnvar")
    bnvar_eps = named(bnvar + EPS, "bnvar_eps")
    bnstd = named(bnvar_eps.sqrt(), "bnstd")
    bnraw = named(bndiff / bnstd, "bnraw")
    gbnraw = named(gamma * bnraw, "gbnraw")
    hpreact = named(gbnraw + beta, "hpreact")
    h = named(hpreact.tanh(), "h")
    hW2 = named(h @ W2, "hW2")
    logits = named(hW2 + b2, "logits")
    logit_maxes = named(logits.max(axis=1, keepdims=True), "logit_maxes")
    norm_logits = named(logits - logit_maxes, "norm_logits")
    counts = named(norm_logits.exp(), "counts")
    counts_sum = named(counts.sum(axis=1, keepdims=True), "counts_sum")
    probs = named(counts / counts_sum, "probs")
    logprobs = named(probs.log(), "logprobs")
    picked = named(logprobs[np.arange(n), labels], "picked")
    picked_mean = named(picked.mean(), "picked_mean")
    loss = named(-picked_mean, "loss")
    return Network(loss=loss, nodes=nodes, tokens=tokens, labels=labels)


def added_at(like, index, values):
    """Zeros shaped like ``like`` with ``values`` added at ``index`` (repeated indices add up)."""
    out = np.zeros_like(like)
    np.add.at(out, index, values)
    return out


def one_hot(labels, like):
    """Rows of ``like``'s shape and dtype with a 1 at each row's label."""
    out = np.zeros_like(like)
    out[np.arange(len(labels)), labels] = 1
    return out


BATCHNORM_STEPS = (
    ("loss", lambda d, v: np.ones_like(v["loss"])),
    ("picked_mean", lambda d, v: -d["loss"]),
    ("picked", lambda d, v: np.ones_like(v["picked"]) * d["picked_mean"] / v["n"]),
    ("logprobs", lambda d, v: one_hot(v["labels"], v["logprobs"]) * d["picked"][:, None]),
    ("probs", lambda d, v: d["logprobs"] / v["probs"]),
    ("counts_sum", lambda d, v: (-d["probs"] * v["counts"] / v["counts_sum"] ** 2).sum(axis=1, keepdims=True)),
    ("counts", lambda d, v: d["probs"] / v["counts_sum"] + np.ones_like(v["counts"]) * d["counts_sum"]),
    ("norm_logits", lambda d, v: d["counts"] * v["counts"]),
    ("logit_maxes", lambda d, v: -d["norm_logits"].sum(axis=1, keepdims=True)),
    ("logits", lambda d, v: d["norm_logits"] + (v["logits"] == v["logit_maxes"]) * d["logit_maxes"]),
    ("b2", lambda d, v: d["logits"].sum(axis=0)),
    ("hW2", lambda d, v: d["logits"]),
    ("W2", lambda d, v: v["h"].T @ d["hW2"]),
    ("h", lambda d, v: d["hW2"] @ v["W2"].T),
    ("hpreact", lambda d, v: d["h"] * (1 - v["h"] ** 2)),
    ("beta", lambda d, v: d["hpreact"].sum(axis=0, keepdims=True)),
    ("gbnraw", lambda d, v: d["hpreact"]),
    ("gamma", lambda d, v: (d["gbnraw"] * v["bnraw"]).sum(axis=0, keepdims=True)),
    ("bnraw", lambda d, v: d["gbnraw"] * v["gamma"]),
    ("bnstd", lambda d, v: (-d["bnraw"] * v["bndiff"] / v["bnstd"] ** 2).sum(axis=0, keepdims=True)),
    ("bnvar_eps", lambda d, v: d["bnstd"] / (2 * v["bnstd"])),
    ("bnvar", lambda d, v: d["bnvar_eps"]),
    ("bndiff2", lambda d, v: np.ones_like(v["bndiff2"]) * d["bnvar"] / v["n"]),
    ("bndiff", lambda d, v: d["bnraw"] / v["bnstd"] + 2 * v["bndiff"] * d["bndiff2"]),
    ("bnmean", lambda d, v: -d["bndiff"].sum(axis=0, keepdims=True)),
    ("bnsum", lambda d, v: d["bnmean"] / v["n"]),
    ("hprebn", lambda d, v: d["bndiff"] + np.ones_like(v["hprebn"]) * d["bnsum"]),
    ("b1", lambda d, v: d["hprebn"].sum(axis=0)),
    ("embcatW1", lambda d, v: d["hprebn"]),
    ("W1", lambda d, v: v["embcat"].T @ d["embcatW1"]),
    ("embcat", lambda d, v: d["embcatW1"] @ v["W1"].T),
    ("emb", lambda d, v: d["embcat"].reshape(v["emb"].shape)),
    ("C", lambda d, v: added_at(v["C"], v["tokens"], d["emb"])),
)
"""The batch-norm network's backward pass by hand, ``(node name, rule(d, v))`` in backward order: each
rule gives ``d loss / d node`` from the earlier steps ``d`` and the forward values ``v``."""


def derive(steps, values: dict, replace=None) -> dict:
    """Run a derivation: every step's gradient, with the rules in ``replace`` used instead of the table's."""
    unknown = set(replace or {}) - {name for name, _ in steps}
    if unknown:
        raise ValueError(f"derive: no step named {', '.join(sorted(unknown))}")
    d = {}
    for name, rule in steps:
        d[name] = (replace or {}).get(name, rule)(d, values)
    return d


def assigned_at(like, index, values):
    """The classic scatter mistake: ``grad[index] = values`` (a repeated index keeps only its last value)."""
    out = np.zeros_like(like)
    out[index] = values
    return out


@dataclass(frozen=True)
class Mistake:
    """A planted mistake: what a learner wrote, the step it replaces, and the kind check_manual should find."""

    key: str
    kind: str
    step: str
    wrote: str
    rule: object


BATCHNORM_MISTAKES = (
    Mistake("missing_sum", "missing_sum", "b2", "db2 = dlogits", lambda d, v: d["logits"]),
    Mistake("transposed", "transposed", "W2", "dW2 = dhW2.T @ h", lambda d, v: d["hW2"].T @ v["h"]),
    Mistake(
        "sign",
        "sign",
        "bnmean",
        "dbnmean = dbndiff.sum(0, keepdims=True)",
        lambda d, v: d["bndiff"].sum(0, keepdims=True),
    ),
    Mistake("factor", "factor", "bnvar_eps", "dbnvar_eps = dbnstd / bnstd", lambda d, v: d["bnstd"] / v["bnstd"]),
    Mistake(
        "sum_vs_mean",
        "sum_vs_mean",
        "picked",
        "dpicked = np.ones_like(picked) * dpicked_mean",
        lambda d, v: np.ones_like(v["picked"]) * d["picked_mean"],
    ),
    Mistake(
        "wrong_point",
        "wrong_point",
        "hpreact",
        "dhpreact = dh * (1 - hpreact**2)",
        lambda d, v: d["h"] * (1 - v["hpreact"] ** 2),
    ),
    Mistake(
        "some_elements",
        "some_elements",
        "C",
        "dC = zeros_like(C); dC[tokens] = demb",
        lambda d, v: assigned_at(v["C"], v["tokens"], d["emb"]),
    ),
    Mistake("cascade", "node_factor", "bnraw", "dbnraw = dgbnraw", lambda d, v: d["gbnraw"]),
    Mistake(
        "missing_path",
        "missing_path",
        "bndiff",
        "dbndiff = dbnraw / bnstd",
        lambda d, v: d["bnraw"] / v["bnstd"],
    ),
)
"""Mistakes a learner makes in the batch-norm derivation, one per kind."""

ARTICLE_MISTAKES = (
    Mistake("missing_sum", "missing_sum", "b2", "d_b2 = d_output", lambda d, v: d["z2"]),
    Mistake("transposed", "transposed", "w1", "d_w1 = d_hidden.T @ x", lambda d, v: d["z1"].T @ v["x"]),
    Mistake(
        "sign",
        "sign",
        "p",
        "d_loss = y / p - (1 - y) / (1 - p)",
        lambda d, v: (v["y"] / v["q"] - (1 - v["y"]) / (1 - v["q"])) / v["N"],
    ),
    Mistake(
        "factor",
        "factor",
        "z2",
        "d_output = 2 * d_loss * output * (1 - output)",
        lambda d, v: 2 * d["p"] * (v["p"] * (1 - v["p"])),
    ),
    Mistake(
        "wrong_point",
        "wrong_point",
        "z1",
        "d_hidden = (d_output @ w2.T) * z1 * (1 - z1)",
        lambda d, v: d["h"] * (v["z1"] * (1 - v["z1"])),
    ),
    Mistake(
        "some_elements",
        "some_elements",
        "p",
        "for i in range(1, N): d_loss[i] = ...  (the loop skips sample 0)",
        lambda d, v: (
            np.vstack([np.zeros_like(v["p"][:1]), -(v["y"] / v["q"] - (1 - v["y"]) / (1 - v["q"]))[1:]]) / v["N"]
        ),
    ),
    Mistake(
        "cascade",
        "missing_derivative",
        "z1",
        "d_hidden = d_output @ w2.T  (the sigmoid's derivative left out)",
        lambda d, v: d["h"],
    ),
)
"""Mistakes planted in the article's derivation (with the loss it differentiates, the sum), one per kind."""


# ----------------------------------------------------------------------------- checking


@dataclass
class Found:
    """One planted mistake and what check_manual said about it."""

    network: str
    mistake: Mistake
    report: object  # autograd.manual.ManualCheck
    root: object = None  # the loss the derivation is of

    @property
    def found_kind(self) -> str | None:
        row = self.report.first_wrong_row
        return None if row is None else row.diagnosis.kind

    def summary(self) -> str:
        r = self.report
        return (
            f"planted in step {self.mistake.step}: {self.mistake.wrote}\n"
            f"  first wrong step found: {r.first_wrong} ({r.first_wrong_row.diagnosis.text})\n"
            f"  the right line:         {r.right_line}"
        )


def article_setup(seed=DEFAULT_SEED, reduction="sum"):
    """The article's numpy network and the engine's build of it on the article's batch: ``(reference, loss, names)``."""
    from nn.article_data import Y_ARTICLE, X
    from nn.compare import article_graph
    from nn.reference import NumpyTwoLayerNet
    from nn.two_layer import TwoLayerNet

    reference = NumpyTwoLayerNet(2, 4, 1, seed=seed, reduction="sum")
    network = TwoLayerNet(2, 4, 1)
    network.load_state_dict(reference.state_dict())
    loss, names = article_graph(network, X, Y_ARTICLE, reduction)
    return reference, loss, names


def check_article_mistake(mistake: Mistake, seed=DEFAULT_SEED) -> Found:
    from autograd import check_manual
    from nn.article_data import Y_ARTICLE, X

    reference, loss, names = article_setup(seed)
    manual = reference.derivation(X, Y_ARTICLE, replace={mistake.step: mistake.rule})
    return Found("article", mistake, check_manual(loss, manual, names=names), loss)


def check_batchnorm_mistake(mistake: Mistake, seed=DEFAULT_SEED) -> Found:
    from autograd import check_manual

    net = batchnorm_network(seed)
    manual = derive(BATCHNORM_STEPS, net.values(), replace={mistake.step: mistake.rule})
    return Found("batchnorm", mistake, check_manual(net.loss, manual), net.loss)


# ----------------------------------------------------------------------------- the demo


@dataclass
class MistakeOutput:
    """What ``run`` produced."""

    article: list = field(default_factory=list)  # Found, one per planted mistake
    batchnorm: Found | None = None
    texts: dict = field(default_factory=dict)  # "article" / "batchnorm" -> the text printed
    files: list = field(default_factory=list)
    missing_dot: bool = False
    marked_by: str = ""  # "check" (first wrong and inherited nodes apart) or "expected" (the first wrong alone)


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = demo_parser(
        prog,
        "python -m demos.find_the_mistake",
        "Plant mistakes in hand derivations (the article's network and a batch-norm network) and "
        "find each: the first wrong step, how it is wrong, the right line.",
    )
    add_seed_option(parser, DEFAULT_SEED, "the weights and the data")
    parser.add_argument(
        "--mistake",
        choices=[m.key for m in BATCHNORM_MISTAKES],
        default="wrong_point",
        help="the mistake planted in the batch-norm derivation (default: wrong_point)",
    )
    return parser


def run(*, out, seed=DEFAULT_SEED, mistake="wrong_point", stream=None, say_missing_dot=True) -> MistakeOutput:
    """Find every planted mistake in the article's derivation, then one in the batch-norm network's."""
    from autograd import backward_code

    stream = stream or sys.stdout
    folder = output_dir(out)
    output = MistakeOutput()

    lines = [
        "The article's hand derivation (NumpyTwoLayerNet.derivation), one mistake planted at a time, checked "
        "step by step against the engine (the summed loss, which the article differentiates):",
        "",
    ]
    for m in ARTICLE_MISTAKES:
        found = check_article_mistake(m, seed)
        output.article.append(found)
        lines += [f"[{m.key}] " + found.summary(), ""]
    output.texts["article"] = "\n".join(lines).rstrip()

    chosen = next(m for m in BATCHNORM_MISTAKES if m.key == mistake)
    found = check_batchnorm_mistake(chosen, seed)
    output.batchnorm = found
    net = batchnorm_network(seed)
    text = [
        "A deeper network by hand: embedding, linear, batch norm, tanh, linear, softmax cross-entropy, every op "
        f"its own node ({len(BATCHNORM_STEPS)} gradients derived by hand). The mistake planted: {chosen.wrote}",
        "",
        str(found.report),
    ]
    output.texts["batchnorm"] = "\n".join(text)

    print("== The article's derivation, mistakes planted one at a time ==\n", file=stream)
    print(output.texts["article"], file=stream)
    print("\n== A batch-norm network derived by hand, one mistake ==\n", file=stream)
    print(output.texts["batchnorm"], file=stream)

    article_path = folder / "mistakes_article.txt"
    article_path.write_text(output.texts["article"] + "\n")
    output.files.append(OutputFile(article_path, "the article's derivation: each planted mistake found (text)"))
    bn_path = folder / "mistake_batchnorm.txt"
    bn_path.write_text(output.texts["batchnorm"] + "\n")
    output.files.append(OutputFile(bn_path, "the batch-norm network: table, verdict and the right line (text)"))
    code_path = folder / "batchnorm_backward.py"
    code_path.write_text(backward_code(net.loss))
    output.files.append(OutputFile(code_path, "the batch-norm network's backward pass as numpy code"))
    json_path = folder / "mistakes.json"
    data = {
        "article": [{"mistake": f.mistake.key, "wrote": f.mistake.wrote, **f.report.to_dict()} for f in output.article],
        "batchnorm": {"mistake": chosen.key, "wrote": chosen.wrote, **found.report.to_dict()},
    }
    json_path.write_text(json.dumps(data, indent=1, default=str) + "\n")
    output.files.append(OutputFile(json_path, "every report above (JSON)"))

    picture, output.missing_dot, output.marked_by = mistake_picture(folder / "graph_mistake.svg", found)
    output.files.append(OutputFile(picture, "the batch-norm network's graph, its first wrong node in red"))
    if output.missing_dot and say_missing_dot:
        print("\n" + INSTALL_GRAPHVIZ, file=stream)
    return output


def mistake_picture(path, found: Found):
    """Render the checked graph with its first wrong node marked; returns ``(path, missing_dot, marked_by)``.

    ``draw_graph(root, check=report)`` marks the first wrong node and the inherited ones apart; where
    ``draw_graph`` does not take ``check=`` yet, ``expected=`` marks the first wrong node alone.
    """
    from autograd import viz

    root = found.root
    root.backward()  # the picture shows each node's gradient
    try:
        picture, missing = render_quietly(viz.render, root, path, rankdir="LR", check=found.report)
        return picture, missing, "check"
    except TypeError as e:
        if "check" not in str(e):
            raise
    first = found.report.first_wrong_row
    expected = {first.name: first.manual} if first is not None else None
    picture, missing = render_quietly(viz.render, root, path, rankdir="LR", expected=expected)
    return picture, missing, "expected"


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    output = run(out=args.out, seed=args.seed, mistake=args.mistake)
    print()
    print_written(output.files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
