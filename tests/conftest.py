"""Shared test fixtures: optional dependencies that skip locally but must be present in CI."""

from __future__ import annotations

import importlib
import os
import shutil

import pytest

STRICT = os.environ.get("BACKPROP_LAB_STRICT") == "1"


def require_module(name: str):
    """Import ``name`` or skip the test; under BACKPROP_LAB_STRICT=1 (CI) a missing module fails."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if STRICT:
            pytest.fail(f"{name} is required in CI (BACKPROP_LAB_STRICT=1) but is not installed")
        pytest.skip(f"{name} is not installed")


def require_dot() -> str:
    """Path of Graphviz's ``dot``, or skip (fail under BACKPROP_LAB_STRICT=1)."""
    path = shutil.which("dot")
    if path is None:
        if STRICT:
            pytest.fail("Graphviz's dot is required in CI (BACKPROP_LAB_STRICT=1) but is not on PATH")
        pytest.skip("Graphviz's dot is not installed (apt-get install graphviz)")
    return path


@pytest.fixture
def torch():
    """PyTorch as a reference implementation (never a dependency of the library)."""
    return require_module("torch")
