import numpy as np
import pytest

from autograd import Tensor
from autograd.testing import assert_manual_matches


def graph():
    w = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, label="w")
    h = (w * w).tanh()
    h.label = "h"
    return h.sum(), w, h


def test_passes_and_returns_the_report():
    loss, w, h = graph()
    dh = np.ones((2, 2))
    report = assert_manual_matches(loss, {"h": dh, "w": dh * (1 - h.data**2) * 2 * w.data})
    assert report.passed and len(report.rows) == 2


def test_fails_with_the_table_and_the_verdict():
    loss, w, h = graph()
    dh = np.ones((2, 2))
    with pytest.raises(AssertionError) as failure:
        assert_manual_matches(loss, {"h": dh, "w": dh * (1 - w.data**2) * 2 * w.data}, names={})
    message = str(failure.value)
    assert message.startswith("hand-derived gradients differ from the engine's")
    assert "FIRST WRONG" in message and "first wrong step: w" in message
    assert "the right line: dw = dmul1 * w + dmul1 * w" in message
