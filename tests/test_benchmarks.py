"""The benchmark's peers compute what they claim to, so its ratios compare like
with like (timings themselves belong in benchmarks/, never in tests)."""

import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from sk_hashednets import _kernels
from sk_hashednets._layers import HashedWeights

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench  # noqa: E402
import peers  # noqa: E402
import threaded_kernels  # noqa: E402
from parts import steps  # noqa: E402


def _chunked(layer, G, K, n_threads):
    """The chunked gather and scatter of the thread benchmark on n_threads."""
    w = np.random.default_rng(0).standard_normal(K)
    table = np.empty(2 * K)
    _kernels.signed_table(w, table)
    saved = numba.get_num_threads()
    try:
        numba.set_num_threads(n_threads)
        V, grad = np.empty_like(G), np.empty(K)
        threaded_kernels.gather(table, layer._codes, V)
        threaded_kernels.scatter(G, layer._codes,
                                 np.empty((threaded_kernels.N_CHUNKS, 2 * K)), grad)
    finally:
        numba.set_num_threads(saved)
    return w, V, grad


def _layer_and_gradient(K):
    layer = HashedWeights(300, 250, K, np.array([5, 9], np.uint32), cache=True)
    return layer, np.random.default_rng(1).standard_normal((300, 250))


@pytest.mark.parametrize("K", [50, 70_000])  # uint16 and int32 codes
def test_chunked_kernels_match_the_package_kernels(K):
    layer, G = _layer_and_gradient(K)
    w, V, grad = _chunked(layer, G, K, 1)
    expected_grad = np.empty(K)
    layer.grad(G, w, expected_grad)
    np.testing.assert_array_equal(V, layer.virtual(w))
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                    reason="needs NUMBA_NUM_THREADS >= 2 to compare 1 and 2 threads")
@pytest.mark.parametrize("K", [50, 70_000])
def test_chunked_kernels_are_deterministic_across_threads(K):
    layer, G = _layer_and_gradient(K)
    one, two = _chunked(layer, G, K, 1), _chunked(layer, G, K, 2)
    np.testing.assert_array_equal(one[1], two[1])
    np.testing.assert_array_equal(one[2], two[2])


def test_numpy_floor_learns():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    X = (rng.standard_normal((600, 20)) + 3 * np.eye(3, 20)[y]).astype(np.float32)
    Y = peers.one_hot(y, 3)
    first = peers.numpy_dense_epoch(X, Y, (16,), 10)
    assert np.isfinite(first) and first < 0.7 * np.log(3)  # well below chance
    # eight passes over the data, as one long epoch, end much lower
    longer = peers.numpy_dense_epoch(np.tile(X, (8, 1)), np.tile(Y, (8, 1)), (16,), 10)
    assert longer < 0.5 * first


def test_torch_peer_uses_the_same_virtual_matrix():
    torch = pytest.importorskip("torch")
    model = peers.torch_hashed_mlp(30, (20,), 4, 1 / 8)
    for module, (n_in, n_out) in zip([model[0], model[2]], [(30, 20), (20, 4)]):
        w = module.weight.detach().numpy().astype(np.float64)
        seeds = np.array([7, 11], np.uint32) + (module is model[2])
        expected = HashedWeights(n_in, n_out, len(w), seeds).virtual(w)
        with torch.no_grad():
            virtual = (module.weight[module.index] * module.sign).numpy()
        np.testing.assert_allclose(virtual, expected, rtol=1e-6)


@pytest.mark.slow
def test_whole_epoch_comparison_trains_alike_with_either_kernels():
    """The thread benchmark trains with the chunked kernels through a subclass
    of HashedWeights; it must keep training through the package's layer
    interface, to the same epoch loss as the serial kernels (each run in a
    fresh process, as the benchmark runs it)."""
    script = Path(threaded_kernels.__file__)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    losses = {}
    for kernels in ("serial", "chunked"):
        result = subprocess.run([sys.executable, str(script), "--kernels", kernels,
                                 "--samples", "300", "--batch-size", "50"],
                                capture_output=True, text=True, env=env)
        assert result.returncode == 0, result.stderr
        loss_line, seconds = result.stdout.split("\n")[-3:-1]
        assert float(seconds) > 0
        losses[kernels] = float(loss_line.split()[1])
    assert np.isfinite(losses["serial"]) and losses["serial"] > 0
    assert losses["chunked"] == pytest.approx(losses["serial"], rel=1e-6)


def test_every_part_measures_and_reports():
    assert list(bench.PARTS) == bench.parse_args([]).parts
    for name, part in bench.PARTS.items():
        assert callable(part.run) and callable(part.section), name


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_step_breakdown_accounts_for_the_epoch():
    """The step part's clock charges each phase its own time: the phases
    add up to no more than the epoch, and each of them took some."""
    from sk_hashednets import HashedMLPClassifier

    rng = np.random.default_rng(0)
    X = rng.random((400, 50), dtype=np.float32)
    y = rng.integers(0, 3, 400)
    phases, epoch = steps.timed_epoch(
        HashedMLPClassifier((40,), batch_size=50, max_iter=1, random_state=0), X, y)
    assert set(phases) == set(steps.PHASES) | {"epoch"}
    assert all(phases[p] > 0 for p in steps.PHASES)
    assert sum(phases.values()) == pytest.approx(epoch, rel=1e-9)
