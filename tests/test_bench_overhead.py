"""The per-op overhead benchmark runs end to end (tiny settings) and prints its ratios."""
from __future__ import annotations

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_overhead_benchmark_runs_and_reports_a_ratio():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_overhead.py"),
                             "--rounds", "2", "--repeat", "20"], capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    ratio = re.search(r"overhead ratio \(tiny graph, autograd-lite / PyTorch\): (\d+\.\d+)", result.stdout)
    assert ratio and float(ratio.group(1)) > 0, result.stdout
    assert "MLP 784-128-64-10 step" in result.stdout
