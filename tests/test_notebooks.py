"""The notebooks in examples/notebooks run top to bottom without errors (nbclient + ipykernel)."""
import os

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDER = os.path.join(ROOT, "examples", "notebooks")
NOTEBOOKS = sorted(name for name in os.listdir(FOLDER) if name.endswith(".ipynb"))


def test_the_course_notebooks_are_there():
    assert {"iris_mlp.ipynb", "backprop_walk.ipynb"} <= set(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(name, monkeypatch, tmp_path):
    # the kernel is this Python (ipykernel's own spec), importing this checkout
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([ROOT] + [p for p in (
        os.environ.get("PYTHONPATH"),) if p]))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = nbformat.read(os.path.join(FOLDER, name), as_version=4)
    client = NotebookClient(book, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    rich = [o for o in outputs if o.get("output_type") in ("display_data", "execute_result")]
    assert rich, "the notebook shows something"
    if name == "backprop_walk.ipynb":
        html = [o["data"]["text/html"] for o in rich if "text/html" in o.get("data", {})]
        assert any('class="agw"' in h and "<svg" in h for h in html)  # the walk widget, inline
        assert any("image/svg+xml" in o.get("data", {}) for o in rich)  # the network diagrams
