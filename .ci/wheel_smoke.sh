#!/usr/bin/env bash
# Packaging check: build the sdist and, from it, the wheel with `python -m build`, install the wheel
# into a fresh virtualenv and run a smoke test there (imports, the py.typed markers, 3 training steps,
# a scikit-learn estimator).
#
# The virtualenv is made with --system-site-packages and the wheel installed with --no-deps: the
# runtime dependencies (numpy, numba, scikit-learn, ...) come from the environment CI already set up
# instead of being downloaded again. What is checked is the wheel itself: that it holds every module
# and marker, imports from the virtualenv (not from this checkout), and works. The build runs in a
# temporary copy of the tracked and untracked-but-not-ignored files, so the checkout stays clean.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$work/src/" 2>/dev/null \
    || { echo "wheel_smoke: copying the sources failed" >&2; exit 1; }

python -m build --outdir "$work/dist" "$work/src" >"$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; echo "wheel_smoke: python -m build failed" >&2; exit 1; }
wheel=$(ls "$work"/dist/*.whl)
echo "built $(basename "$wheel")"
python - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
for marker in ("autograd_lite/py.typed", "nn/py.typed", "optim/py.typed"):
    assert marker in names, f"the wheel lacks {marker}"
for module in ("autograd_lite/sklearn/estimator.py", "autograd_lite/training/recording.py",
               "autograd_lite/kernels/gemm.py", "nn/module.py", "optim/adam.py"):
    assert module in names, f"the wheel lacks {module}"
assert not [n for n in names if n.startswith(("tests/", "examples/", "benchmarks/"))], "tests in wheel"
print(f"wheel holds {len(names)} files, with the py.typed markers")
PY

python -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --no-deps "$wheel"
cd "$work"  # away from the checkout, so that only the installed wheel can be imported
VENV="$work/venv" "$work/venv/bin/python" - <<'PY'
import os

import numpy as np

import autograd_lite as ag
import nn
import optim
from autograd_lite.sklearn import NeuralNetClassifier

venv = os.path.realpath(os.environ["VENV"])
for package in (ag, nn, optim):
    where = os.path.realpath(package.__file__)
    assert where.startswith(venv), f"{package.__name__} imported from {where}, not from the wheel"
    assert os.path.exists(os.path.join(os.path.dirname(where), "py.typed"))

ag.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
optimizer = optim.Adam(model.parameters(), lr=0.05)
x = ag.randn(64, 3)
y = x.sum(dim=1, keepdim=True)
losses = []
for _ in range(3):
    optimizer.zero_grad()
    loss = nn.MSELoss()(model(x), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
assert losses[-1] < losses[0], losses

X = np.random.default_rng(0).normal(size=(60, 4))
clf = NeuralNetClassifier(max_epochs=2, random_state=0).fit(X, X[:, 0] > 0)
assert clf.predict_proba(X).shape == (60, 2)
print(f"smoke test passed in the wheel's virtualenv: losses {', '.join(f'{v:.4f}' for v in losses)}")
PY
