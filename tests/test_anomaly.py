"""Anomaly mode: the first op with a NaN or an infinity, named with the line that made it."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor, Value, graph
from autograd.anomaly import AnomalyError, detect_anomaly


def test_a_nan_made_in_backward_names_the_op_the_label_and_the_line():
    x = Tensor([0.0, 1.0], requires_grad=True, label="x")
    with detect_anomaly():
        y = x.sqrt()  # the line anomaly mode reports
        z = (y * 0.0).sum()
        with pytest.raises(
            AnomalyError, match=r"backward through sqrt \(made at .*test_anomaly.py:\d+: y = x.sqrt\(\)"
        ):
            z.backward()


def test_a_nan_in_a_forward_result_is_reported_where_it_appears_first():
    with detect_anomaly():
        w = Tensor([-1.0, 2.0], requires_grad=True)
        with pytest.raises(AnomalyError, match=r"forward result of log .* holds NaN"):
            w.log()
        v = Value(1e308)
        with pytest.raises(AnomalyError, match=r"forward result of mul_const .* holds inf"):
            v * 10


def test_nothing_is_checked_or_recorded_outside():
    assert graph.FAST
    x = Tensor([-1.0], requires_grad=True)
    y = x.log()  # NaN, silently, as numpy and PyTorch
    assert np.isnan(y.data[0]) and "created_at" not in y.notes
    with detect_anomaly(), detect_anomaly():
        pass
    assert graph.FAST and graph.STEP_CHECK is None
