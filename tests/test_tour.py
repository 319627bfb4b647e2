"""demos/tour.ipynb runs from top to bottom in a real kernel, and is stored without outputs."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import require_dot, require_module

TOUR = Path(__file__).resolve().parent.parent / "demos" / "tour.ipynb"


def test_the_tour_is_stored_without_outputs():
    notebook = json.loads(TOUR.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def test_the_tour_runs_and_shows_tables_and_pictures():
    require_dot()
    nbformat = require_module("nbformat")
    nbclient = require_module("nbclient")
    require_module("ipykernel")
    notebook = nbformat.read(TOUR, as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(TOUR.parent)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = " ".join(o.get("data", {}).get("text/html", "") for o in outputs)
    svg = " ".join(o.get("data", {}).get("image/svg+xml", "") for o in outputs)
    assert "gradcheck" in html and "<table" in html  # gradcheck and check_manual as tables
    assert "<svg" in svg or "<svg" in html  # the graph pictures
    assert "first wrong" in " ".join(str(o.get("text", "")) for o in outputs)
