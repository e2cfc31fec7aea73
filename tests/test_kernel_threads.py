"""Our kernel thread pool (``autograd_lite.kernels.threads``): how a launch splits its range and
hands out its pieces, the thread count (``ag.set_num_threads``), launches from inside a piece or
beside a busy pool, a forked child, and that Numba's own parallel runtime is never started (BLAS
beside the pool: ``test_kernel_blas.py``). What the real kernels compute at 1 and 2 threads, and how they are cut
into pieces: ``test_kernel_pieces.py``. The ``thread_count`` fixture is in ``conftest.py``."""
from __future__ import annotations

import os
import threading
import time
import weakref

import pytest

import autograd_lite as ag
from autograd_lite.kernels import threads
from kernel_checks import run_python

# these tests are about what a split launch does: every launch goes to the workers here
pytestmark = pytest.mark.usefixtures("always_split")


def pieces_of(count, serial=False, others=0, pieces=None):
    """(start, stop, thread name) of each piece ``parallel_for`` runs, sorted by start. The first
    piece waits (5 s at most) until ``others`` other pieces have started: so that the calling
    thread does not claim them itself, as it does with pieces no worker has claimed yet."""
    seen, started = [], threading.Semaphore(0)

    def record(start, stop):
        if start == 0:
            for _ in range(others):
                started.acquire(timeout=5)
        else:
            started.release()
        seen.append((start, stop, threading.current_thread().name))
    threads.parallel_for(record, count, serial=serial, pieces=pieces)
    return sorted(seen)


def our_threads():
    return sorted(worker.name for worker in threading.enumerate()
                  if worker.name.startswith("autograd_lite-kernel"))


# ----------------------------------------------------------------------------- count and split
def test_set_and_get_num_threads_round_trip_and_reject_bad_values(thread_count):
    for count in (1, 3, 2):
        ag.set_num_threads(count)
        assert ag.get_num_threads() == count == threads.get_num_threads()
    for bad in (0, -2):
        with pytest.raises(ValueError, match="num_threads must be >= 1, got"):
            ag.set_num_threads(bad)
    for bad in (2.0, "2", None, True):
        with pytest.raises(TypeError, match="num_threads must be an int"):
            ag.set_num_threads(bad)
    assert ag.get_num_threads() == 2          # a refused value changes nothing
    assert "set_num_threads" in ag.__all__ and "get_num_threads" in ag.__all__


def test_default_is_the_usable_cores():
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert threads._usable_cores() == expected


def test_a_launch_cuts_its_range_into_contiguous_pieces_one_per_thread(thread_count):
    ag.set_num_threads(3)
    seen = pieces_of(10, others=2)
    assert [piece[:2] for piece in seen] == [(0, 3), (3, 6), (6, 10)]
    assert seen[0][2] == threading.current_thread().name          # piece 0 is the caller's
    assert {piece[2] for piece in seen[1:]} <= {"autograd_lite-kernel-1", "autograd_lite-kernel-2"}
    assert [piece[:2] for piece in pieces_of(10)] == [(0, 3), (3, 6), (6, 10)]
    assert [piece[:2] for piece in pieces_of(2)] == [(0, 1), (1, 2)]   # fewer items than threads
    assert pieces_of(10, serial=True) == [(0, 10, threading.current_thread().name)]
    assert pieces_of(0) == [(0, 0, threading.current_thread().name)]
    ag.set_num_threads(1)                        # ends the workers: nothing of ours stays alive
    assert pieces_of(10) == [(0, 10, threading.current_thread().name)]
    for worker in threading.enumerate():
        if worker.name.startswith("autograd_lite-kernel"):
            worker.join(5)
    assert our_threads() == []


def test_finer_pieces_are_claimed_by_whichever_thread_is_free(thread_count):
    """Seven pieces on two threads: each thread starts on its home block (pieces 0-2 for the
    caller, 3-6 for the worker), in order; while the caller is held in piece 0, the worker runs
    its own four and then takes the caller's remaining ones from the end (2, then 1)."""
    ag.set_num_threads(2)
    me, order, started = threading.current_thread().name, [], threading.Event()

    def record(start, stop):
        if start == 0:
            started.wait(5)
        else:
            started.set()
        order.append((start, threading.current_thread().name))
    threads.parallel_for(record, 7, pieces=7)
    assert sorted(start for start, _ in order) == list(range(7))
    mine = [start for start, name in order if name == me]
    theirs = [start for start, name in order if name != me]
    assert mine[0] == 0 and theirs[0] == 3
    home_mine, home_theirs = [p for p in mine if p < 3], [p for p in theirs if p >= 3]
    assert home_mine == sorted(home_mine) and home_theirs == sorted(home_theirs)  # from the front
    order.clear()
    seen = pieces_of(20, others=6, pieces=7)
    assert [piece[:2] for piece in seen] == [(i * 20 // 7, (i + 1) * 20 // 7) for i in range(7)]
    assert [piece[2] for piece in seen] == [me] + ["autograd_lite-kernel-1"] * 6
    assert [piece[:2] for piece in pieces_of(3, pieces=7)] == [(0, 1), (1, 2), (2, 3)]
    assert [piece[:2] for piece in pieces_of(6, pieces=3)] == [(0, 2), (2, 4), (4, 6)]


def test_the_caller_runs_the_pieces_of_a_worker_that_wakes_late_and_does_not_wait_for_it(
        thread_count, monkeypatch):
    """A worker that has not woken by the time the pieces run out is not waited for; when it
    wakes, it finds none left, runs nothing, and serves the next launch as usual."""
    ag.set_num_threads(2)
    threads.parallel_for(lambda start, stop: None, 2)          # the worker exists, asleep
    worker = threads._pool["workers"][0]
    monkeypatch.setattr(threads._Worker, "_nudge", lambda self: None)   # it oversleeps
    me = threading.current_thread().name
    assert pieces_of(12, pieces=6) == [(2 * i, 2 * i + 2, me) for i in range(6)]
    monkeypatch.undo()
    ran = []
    launch = threads._Launch(lambda start, stop: ran.append(start), (), 4, 2, 2)
    assert [launch.claim(0), launch.claim(0), launch.claim(1)] == [0, 1, None]  # all claimed
    worker._launch = launch
    worker._nudge()                                             # it wakes now: nothing is left
    worker.thread.join(0.2)
    assert ran == [] and worker.thread.is_alive()
    assert pieces_of(10, others=1) == [(0, 5, me), (5, 10, "autograd_lite-kernel-1")]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this OS")
def test_a_worker_is_kept_off_the_launching_threads_cpu(thread_count):
    """A woken worker must not share its launcher's CPU (see ``threads._Worker``): its own affinity
    is every CPU of the process but the one the launch came from; the caller's is untouched."""
    ag.set_num_threads(2)
    before = os.sched_getaffinity(0)
    for _ in range(3):
        threads.parallel_for(lambda start, stop: None, 2)
    worker = threads._pool["workers"][0]
    assert os.sched_getaffinity(0) == before
    if threads._caller_cpu() is None or len(before) < 2:  # nothing to choose from: left alone
        assert worker._kept_off is None
        return
    assert worker._kept_off in before
    assert os.sched_getaffinity(worker.thread.native_id) == before - {worker._kept_off}


def test_a_sleeping_worker_keeps_nothing_of_its_last_launch_alive(thread_count):
    """A launch holds its kernel's arguments (a convolution's input, its gradient): once the
    launch has ended, a worker asleep until the next one must not keep them."""
    ag.set_num_threads(2)

    class Held:
        pass
    held, ran, started = Held(), [], threading.Semaphore(0)
    alive = weakref.ref(held)

    def kernel(value, start, stop):
        if start == 0:
            started.acquire(timeout=5)       # so that the worker runs the other piece
        else:
            started.release()
        ran.append(threading.current_thread().name)
    threads.parallel_for(kernel, 2, held)
    assert "autograd_lite-kernel-1" in ran
    del held
    deadline = time.monotonic() + 5          # the worker lets go as it goes back to sleep
    while alive() is not None and time.monotonic() < deadline:
        time.sleep(0.001)
    assert alive() is None


def test_a_kernel_familys_first_call_gives_the_bits_of_the_later_ones():
    """The first call of a kernel family loads or compiles it on the calling thread
    (``threads.on_this_thread``), with the pieces a later call has: so at 2 threads a process's
    first training step gives the bits the same step gives later (it used to run as one piece,
    and the convolutions' gradients came out different in their last bits)."""
    result = run_python("""
        import json
        import numpy as np
        import autograd_lite as ag
        ag.set_num_threads(2)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((16, 8, 24, 24)).astype(np.float32)
        w = rng.standard_normal((32, 8, 3, 3)).astype(np.float32)
        g = rng.standard_normal((16, 32, 24, 24)).astype(np.float32)

        def run():
            return (ag.kernels.conv2d_input_grad(g, w, x.shape, (1, 1), (1, 1)),
                    ag.kernels.conv2d_weight_grad(x, g, w.shape, (1, 1), (1, 1)))
        first, later = run(), run()
        paths = ag.kernels.paths()
        print(json.dumps([[bool(np.array_equal(a, b)) for a, b in zip(first, later)],
                          paths["conv2d_input_grad"], paths["conv2d_weight_grad"]]))
    """, {"AUTOGRAD_LITE_COMPILE": "eager"})
    assert result == [[True, True], {"numba": 2, "numpy": 0}, {"numba": 2, "numpy": 0}]


def test_an_exception_in_a_piece_reaches_the_caller_and_the_pool_still_works(thread_count):
    ag.set_num_threads(2)

    def fail_in_the_second_half(start, stop):
        if start > 0:
            raise KeyError(f"piece {start}")
    with pytest.raises(KeyError, match="piece 5"):
        threads.parallel_for(fail_in_the_second_half, 10)
    with pytest.raises(KeyError, match="piece 3"):   # the first piece that failed, by position
        threads.parallel_for(fail_in_the_second_half, 12, pieces=4)
    assert [piece[:2] for piece in pieces_of(10)] == [(0, 5), (5, 10)]


def test_a_launch_from_inside_a_piece_or_beside_a_busy_pool_runs_on_its_own_thread(thread_count):
    """Never waits for the pool, so never deadlocks: the inner launch finds it in use."""
    ag.set_num_threads(2)
    inner = []

    def outer(start, stop):
        inner.append(pieces_of(4))
    threads.parallel_for(outer, 2)
    assert [[piece[:2] for piece in pieces] for pieces in inner] == [[(0, 2), (2, 4)]] * 2
    assert {piece[2] for pieces in inner for piece in pieces} <= {   # each on the thread it began
        threading.current_thread().name, "autograd_lite-kernel-1"}
    assert all(len({piece[2] for piece in pieces}) == 1 for pieces in inner)
    me = threading.current_thread().name
    with threads._pool["lock"]:                  # another host thread's launch holds the pool
        assert pieces_of(8) == [(0, 4, me), (4, 8, me)]   # its pieces, here, one after the other
    with threads.on_this_thread():               # a kernel family's first call (compiler)
        assert pieces_of(8) == [(0, 4, me), (4, 8, me)]   # the pieces of a launch outside
    assert [piece[:2] for piece in pieces_of(8)] == [(0, 4), (4, 8)]


# ----------------------------------------------------------------------------- the host process
def test_training_a_cnn_never_starts_numbas_parallel_runtime():
    """Numba's threading layer is process-wide (and ``workqueue`` aborts if two host threads enter
    it at once): the library must not start it, nor choose a layer for the program."""
    report = run_python("""
        import json, threading
        import numpy as np
        import numba
        from numba.np.ufunc import parallel
        layer = numba.config.THREADING_LAYER
        import autograd_lite as ag, nn, optim
        from autograd_lite import kernels
        kernels.set_compile_mode("eager")
        ag.set_num_threads(2)
        model = nn.Sequential(nn.Conv2D(1, 8, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Conv2D(8, 16, 3),
                              nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(), nn.Linear(400, 10))
        opt = optim.Adam(model.parameters(), lr=1e-3)
        rng = np.random.default_rng(0)
        for _ in range(2):
            opt.zero_grad()
            x = ag.tensor(rng.random((64, 1, 28, 28), dtype=np.float32))
            nn.CrossEntropyLoss()(model(x), rng.integers(0, 10, 64)).backward()
            opt.step()
        paths = kernels.paths()
        print(json.dumps({"initialized": parallel._is_initialized,
                          "layer_before": layer, "layer_after": numba.config.THREADING_LAYER,
                          "conv": paths["conv2d_forward"], "relu": paths["relu_forward"],
                          "threads": sorted(t.name for t in threading.enumerate())}))
    """)
    assert report["conv"]["numba"] >= 2 and report["relu"]["numba"] >= 2, report
    assert report["initialized"] is False
    assert report["layer_after"] == report["layer_before"] == "default"
    assert report["threads"] == ["MainThread", "autograd_lite-kernel-1"]


def test_a_forked_child_runs_kernels_on_threads_of_its_own():
    """At the fork another thread holds the pool (mid-launch): the child, where that thread does
    not exist, still launches on the pool, with workers it starts itself."""
    report = run_python("""
        import json, os, threading
        import numpy as np
        import autograd_lite as ag
        from autograd_lite.kernels import elementwise, threads
        ag.set_num_threads(2)
        x = np.linspace(-1, 1, threads.PARALLEL_MIN_SIZE, dtype=np.float32)  # split: see threads
        expected, _ = elementwise.relu_forward(x)     # compiles; starts the parent's worker
        holding, release = threading.Event(), threading.Event()

        def hold_the_pool():
            with threads._pool["lock"]:
                holding.set()
                release.wait()
        holder = threading.Thread(target=hold_the_pool)
        holder.start()
        holding.wait()
        read, write = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(read)
            seen, second = [], threading.Event()

            def record(start, stop):  # the first piece waits for the second to start
                if start == 0:
                    second.wait(5)
                else:
                    second.set()
                seen.append(threading.current_thread().name)
            threads.parallel_for(record, 2)
            out, _ = elementwise.relu_forward(x)
            report = {"equal": bool((out == expected).all()), "names": sorted(seen)}
            os.write(write, json.dumps(report).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            report = json.loads(pipe.read())
        _, status = os.waitpid(child, 0)
        release.set()
        holder.join()
        report["status"] = status
        print(json.dumps(report))
    """)
    assert report["status"] == 0
    assert report["equal"]
    assert report["names"] == ["MainThread", "autograd_lite-kernel-1"]
