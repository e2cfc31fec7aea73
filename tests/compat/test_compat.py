"""PyTorch programs run unchanged with ``import autograd_lite as torch``.

Every program in ``programs/`` (ordinary PyTorch code written from the documented behaviour: tensors,
autograd, custom Functions, double backward, Modules, training loops with DataLoader, optimizers and
schedulers, a CNN, hooks, save/load, device boilerplate) runs twice, in one subprocess with
autograd-lite installed as ``torch`` and in another with real PyTorch, and what it computed must
agree: every number to rtol 1e-5 / atol 1e-6 (float32 programs; float64 ones agree far closer),
every dtype's kind, every shape, flag and name exactly.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROGRAMS = sorted(f for f in os.listdir(os.path.join(HERE, "programs")) if f.endswith(".py"))


def _run(backend):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, os.path.join(HERE, "run_programs.py"), backend],
                          capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def runs():
    return {"ours": _run("autograd_lite"), "theirs": _run("torch")}


def _compare(ours, theirs, where):
    if isinstance(theirs, dict) and "array" in theirs:
        assert isinstance(ours, dict) and "array" in ours, f"{where}: expected a tensor, got {ours!r}"
        a, b = np.asarray(ours["array"]), np.asarray(theirs["array"])
        assert a.shape == b.shape, f"{where}: shape {a.shape} != PyTorch's {b.shape}"
        assert np.dtype(ours["dtype"]).kind == np.dtype(theirs["dtype"]).kind, \
            f"{where}: dtype {ours['dtype']} is not of the kind of PyTorch's {theirs['dtype']}"
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=where)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(theirs), f"{where}: keys differ"
        for key in theirs:
            _compare(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), f"{where}: {ours!r} != {theirs!r}"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            _compare(o, t, f"{where}[{i}]")
    elif isinstance(theirs, float) and not isinstance(ours, bool):
        assert isinstance(ours, (int, float)), f"{where}: {ours!r} is not a number"
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, err_msg=where)
    else:
        assert ours == theirs, f"{where}: {ours!r} != PyTorch's {theirs!r}"


def test_there_are_at_least_25_programs():
    assert len(PROGRAMS) >= 25


@pytest.mark.parametrize("program", PROGRAMS)
def test_program_computes_what_pytorch_computes(runs, program):
    theirs = runs["theirs"][program]
    assert "error" not in theirs, f"the program fails with PyTorch itself: {theirs.get('error')}"
    ours = runs["ours"][program]
    assert "error" not in ours, f"{program} failed with autograd-lite as torch: {ours['error']}\n" \
                                f"{ours.get('traceback', '')}"
    _compare(ours["results"], theirs["results"], program)
