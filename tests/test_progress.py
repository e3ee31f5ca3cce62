"""verbose progress reaches a log while the fit runs, not when the process ends."""

import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import sk_hashednets

CHILD = """
import sys
import numpy as np
from sk_hashednets import HashedMLPClassifier

rng = np.random.RandomState(0)
X = rng.randn(200, 5)
y = (X[:, 0] > 0).astype(int)
# tol=10: no epoch after the first counts as progress; the fit stops after 4
HashedMLPClassifier(hidden_layer_sizes=(8,), tol=10.0, n_iter_no_change=2,
                    max_iter=100, early_stopping=True, verbose=True,
                    random_state=0).fit(X, y)
sys.stdin.read()  # stay alive until the test closes stdin
"""


@pytest.mark.slow
def test_verbose_lines_reach_a_pipe_while_the_process_runs():
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)  # stdout to a pipe is block-buffered
    package_root = str(Path(sk_hashednets.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(
        [package_root, *filter(None, [env.get("PYTHONPATH")])])
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in child.stdout],
                     daemon=True).start()
    try:
        seen = []
        while not seen or "Stopping" not in seen[-1]:
            # output held in a buffer would only arrive when the child exits,
            # which it does not do before stdin closes: the get times out
            seen.append(lines.get(timeout=300).rstrip("\n"))
        assert child.poll() is None  # still running: the lines came as printed
    finally:
        child.stdin.close()
        child.wait(timeout=300)
    assert child.returncode == 0
    assert len(seen) == 5
    for epoch, line in enumerate(seen[:4], start=1):
        assert re.fullmatch(rf"Iteration {epoch}, loss = \d+\.\d{{8}}, validation "
                            r"score = \d\.\d{6}, time = \d+\.\d\ds", line), line
    assert seen[4] == ("Validation score did not improve more than tol=10.000000 "
                       "for 2 consecutive epochs. Stopping.")
