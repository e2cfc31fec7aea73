"""Threads: our own small pool for the parallel kernels (BLAS is kept out of its way in ``blas``).

Nothing here is process-wide: Numba's parallel runtime is never started (the kernels are serial
``@njit(nogil=True)`` functions over a range), so the host program's Numba threading layer, its
OpenMP and TBB libraries and its thread counts stay as it set them.

* ``parallel_for(kernel, count, *args, pieces=None)`` runs ``kernel(*args, start, stop)`` over
  contiguous pieces of ``range(count)`` (one per thread unless ``pieces`` says how many), which
  the calling thread and the workers claim as they come free (``_Launch``):

      pieces = min(pieces or get_num_threads(), count)
      piece i = [i count // pieces, (i + 1) count // pieces)      (fixed by count and pieces)
      thread t of T (0: the caller) has the home block of pieces [t pieces // T, (t+1) pieces // T)
      claim piece 0 here; wake the workers;
      each thread, this one included, until no piece is left:
          claim the first unclaimed piece of its home block, else the last unclaimed piece of
          the block with most left; run it
      wait until every claimed piece has ended

  With every thread on time this is a static split (each thread reads next the data it wrote in
  the previous kernel); a worker that wakes late finds its block shortened from the end, or gone,
  and the calling thread is never left waiting for a piece nobody has started: at most for the
  rest of one a worker is running. On the 2-vCPU Intel Xeon VM (Sapphire Rapids class) whose
  idle vCPUs halt, a woken worker started 0.1 to 2 ms after its launch (median 0.1 to 0.5 ms
  from one run to the next). Kernels whose work allows cut it several times finer than the
  thread count (``pieces_for``: the images of a convolution) so that this rest is short. Which
  thread runs a piece never changes its result: every kernel computes a piece from the piece
  alone (buffers that pieces add into are one per piece, summed in piece order afterwards), so
  results depend only on ``count`` and ``pieces``. A launch may also run its pieces one after
  the other on the calling thread alone (the same calls, so the same bits for any kernel):
  ``launch_timing`` times both ways for each launch shape and keeps the faster one (the course
  CNN's step at batch 8 took 3.9 ms with its kernels split on that VM, 2.3 ms with them alone).
  The workers ("autograd_lite-kernel-1", ...) are daemon threads started on the first parallel
  launch that needs them; between launches each sleeps on a lock of its own (no spinning). One
  launch uses them at a time: a launch that finds them busy (another host thread's launch, or a
  launch from inside a kernel task) runs its pieces one after the other on its own thread
  instead, which gives the same result (the same calls) and never waits, so never deadlocks. A
  launch wakes each worker with one lock release: about 3 context switches per launch, against
  about 12 for a Numba ``workqueue`` launch.
  ``os.register_at_fork`` forgets the workers in a forked child (threads do not survive a fork),
  which starts its own when it needs them. A worker about to be woken is kept off the launching
  thread's CPU (its own affinity only: ``_Worker._place``), so that a pause does not leave both
  on one core.
* Launches taken together (``launch_groups``: held for the next one of their shape, recorded
  to be run another way, or run inside the next launch cut by images): ``parallel_for`` looks
  for them in this thread's ``_here``.
* ``set_num_threads(n)`` / ``get_num_threads()`` (PyTorch's names, exported as
  ``ag.set_num_threads``): how many threads a launch uses, the caller included; default the cores
  this process may run on (``os.sched_getaffinity``). Lowering it ends the workers beyond n - 1, so
  ``set_num_threads(1)`` leaves no thread of ours behind.
* ``serial(size)``: the element-wise and pooling kernels and the bias gradient (one pass over
  memory) run on the calling thread below ``PARALLEL_MIN_SIZE`` elements (a launch would cost more
  than it saves).
* ``workers_ran_lately()``: whether the workers ran pieces of a kernel in the last
  ``BLAS_HELD_FOR`` seconds, which decides whether our products hold BLAS to one thread
  (``kernels.matmul``, ``blas``).
"""
from __future__ import annotations

import numbers
import os
import threading


from . import launch_timing

# elements from which a memory-bound pass (elementwise, pooling, optimizer updates, bias gradient)
# is split across threads. A second thread streams memory at about half speed beside the first on
# the 2-vCPU VMs we measure on, and a woken worker starts late, so small passes lose: Intel Xeon
# (Sapphire Rapids class), 2 threads against 1, in-process interleaved medians: Adam on 102k
# parameters 2.25-2.35x the time, ReLU forward on 495k elements 1.41-1.44x, on 1.38M 0.91-0.95, its
# mask on 1.38M 0.97-1.00. At 2^20 (2^16 before) course-CNN steps took 0.97-0.99 of the time at
# batch 8, 64 and 256; on a Zen 3 VM (session 8) 2^18-2^20 were within noise of 2^16 and 2^21 slower.
PARALLEL_MIN_SIZE = 2 ** 20
PIECE_WORK = 2 ** 23       # multiply-adds a piece keeps at least (``pieces_for``): about 0.2 ms on
#                            one core of the Intel Xeon VM (Sapphire Rapids class, AVX-512)
PIECES_PER_THREAD = 4      # at most (2, 4 and 8 measured: benchmarks/README.md, session 10)
PIECE_BUFFER_BYTES = 2 ** 24  # a kernel's per-piece buffers together (``pieces_for``'s buffer_bytes):
#                            the weight gradients' partial sums, one per piece, then summed; a
#                            512 x 512 x 3 x 3 filter's is 9.4 MB, 32 pieces on 8 threads 302 MB

BLAS_HELD_FOR = 2.0        # seconds after our workers last ran a kernel's pieces during which our
#                            products keep BLAS to one thread (``workers_ran_lately``): OpenBLAS's
#                            idle workers spin for about 0.1 s after each call (measured: 0.10 s of
#                            CPU in a 0.3 s sleep after a 2-thread product), so a product on its
#                            own threads must not come just before a kernel of ours that splits.
#                            Longer than the pause between two steps of a training loop (a slow data
#                            loader), so that a model whose first layer is a product does not wake
#                            BLAS's threads at every step; short next to a phase of a program

_settings = {"threads": None, "cores": None}
_here = threading.local()  # .serial: launches of this thread run here (``on_this_thread``)
_pool = {"workers": [], "lock": threading.Lock(),  # the lock: held by the launch using the workers
         "kernel_split_at": None}  # clock of the last split launch of a kernel (not of a product)


def _usable_cores():
    if _settings["cores"] is None:
        try:
            _settings["cores"] = max(1, len(os.sched_getaffinity(0)))
        except (AttributeError, OSError):  # no affinity call (macOS, Windows)
            _settings["cores"] = os.cpu_count() or 1
    return _settings["cores"]


def get_num_threads() -> int:
    """Threads a parallel kernel uses, the calling thread included."""
    count = _settings["threads"]
    return _usable_cores() if count is None else count


def set_num_threads(num_threads: int) -> None:
    """Use ``num_threads`` (>= 1) threads in each parallel kernel from now on (PyTorch's
    ``torch.set_num_threads``); workers beyond ``num_threads - 1`` end."""
    if isinstance(num_threads, bool) or not isinstance(num_threads, numbers.Integral):
        raise TypeError(f"set_num_threads: num_threads must be an int, got "
                        f"{type(num_threads).__name__} {num_threads!r}")
    if num_threads < 1:
        raise ValueError(f"set_num_threads: num_threads must be >= 1, got {num_threads}")
    _settings["threads"] = int(num_threads)
    with _pool["lock"]:  # no launch is using the workers now
        while len(_pool["workers"]) > num_threads - 1:
            _pool["workers"].pop().stop()


class _Launch:
    """The pieces of one ``parallel_for``: ``kernel(*args, start, stop)`` for piece i of
    ``pieces`` over ``range(count)``. Each of the ``participants`` (0: the launching thread,
    k: worker k) has a home block of consecutive pieces, which it claims from the front
    (``claim``); once its own are gone it takes the last piece of the block with most left. So
    with every thread on time a launch cuts its range as a static split would (the data a thread
    wrote in one kernel is the data it reads in the next), and a late worker finds its block
    shortened from the end. ``done`` is released when the last piece ends."""
    __slots__ = ("kernel", "args", "count", "pieces", "blocks", "left", "lock", "done", "errors")

    def __init__(self, kernel, args, count, pieces, participants):
        self.kernel, self.args, self.count, self.pieces = kernel, args, count, pieces
        self.blocks = [[t * pieces // participants, (t + 1) * pieces // participants]
                       for t in range(participants)]
        self.left, self.errors = pieces, {}
        self.lock, self.done = threading.Lock(), threading.Lock()
        self.done.acquire()

    def claim(self, participant):
        """The index of the next piece for ``participant``, now its to run; None when none is
        left."""
        with self.lock:
            blocks = self.blocks
            if participant < len(blocks) and blocks[participant][0] < blocks[participant][1]:
                blocks[participant][0] += 1
                return blocks[participant][0] - 1
            most = max(blocks, key=lambda block: block[1] - block[0])
            if most[0] == most[1]:
                return None
            most[1] -= 1
            return most[1]

    def run(self, participant, index):
        """Piece ``index`` (claimed by ``participant``, this thread), then each next one it
        claims."""
        while index is not None:
            try:
                self.kernel(*self.args, *_bounds(index, self.count, self.pieces))
            except BaseException as error:  # handed to the launching thread
                self.errors[index] = error
            with self.lock:
                self.left -= 1
                last = self.left == 0
            if last:
                self.done.release()
            index = self.claim(participant)


_placement = {"getcpu": None}  # glibc's sched_getcpu once found; False where it is missing


def _caller_cpu():
    """The CPU the calling thread runs on (glibc's ``sched_getcpu``, a vDSO read), or None where
    it cannot be asked (not Linux/glibc)."""
    if _placement["getcpu"] is None:
        try:
            import ctypes
            getcpu = ctypes.CDLL(None, use_errno=True).sched_getcpu
            getcpu.restype, getcpu.argtypes = ctypes.c_int, []
            _placement["getcpu"] = getcpu if getcpu() >= 0 else False
        except (OSError, AttributeError):
            _placement["getcpu"] = False
    getcpu = _placement["getcpu"]
    return getcpu() if getcpu else None



class _Worker:
    """A daemon thread asleep on ``_wake`` until a launch hands it its pieces (``submit``).
    ``submit`` and ``stop`` are called holding the pool lock, so only they release ``_wake``.

    Before waking it, ``submit`` keeps it off the launching thread's CPU (``_place``): a thread
    that slept for a while is woken on its waker's CPU, and on the 2-vCPU AMD EPYC (Zen 3) VMs we
    measure on it stayed there for about 35 ms (10-12 convolutions of 1.7 ms) before the
    scheduler moved it, so after any pause of 0.15 s or more (between blocks of a benchmark, a
    notebook cell, a slow data loader) parallel kernels ran at one core's speed: Conv2D forward
    3.35 against 1.72 ms.
    Only this worker's own affinity changes (never the host's threads), to the CPUs the process
    may use minus the launcher's current one, and only when that CPU changed since the last
    launch (a system call then, a vDSO read otherwise)."""

    def __init__(self, number):
        self._wake = threading.Lock()
        self._wake.acquire()
        self._launch, self._stopping, self.number = None, False, number
        self._kept_off = None  # the CPU this worker's affinity excludes (None: not set)
        self.thread = threading.Thread(target=self._serve, name=f"autograd_lite-kernel-{number}",
                                       daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stopping:
            self._wake.acquire()
            launch, self._launch = self._launch, None
            if launch is not None:  # late, it may find no piece left
                launch.run(self.number, launch.claim(self.number))
            launch = None  # asleep, it keeps no launch's kernel and arrays alive

    def _nudge(self):
        if self._wake.locked():  # else it is awake, or will wake, and read _launch then
            self._wake.release()

    def submit(self, launch):
        self._launch = launch
        self._place()
        self._nudge()

    def _place(self):
        """Allow this worker every CPU of the process but the caller's (see the class docstring)."""
        cpu = _caller_cpu()
        if cpu is None or cpu == self._kept_off:
            return
        try:
            allowed = os.sched_getaffinity(0) - {cpu}
            if allowed:
                os.sched_setaffinity(self.thread.native_id, allowed)
                self._kept_off = cpu
        except (AttributeError, OSError):  # no affinity calls here, or the thread has ended
            _placement["getcpu"] = False   # stop trying

    def stop(self):
        self._stopping = True
        self._nudge()


def _workers(count):
    """``count`` workers (fewer if the system refuses a thread); called holding the pool lock."""
    workers = _pool["workers"]
    while len(workers) < count:
        try:
            workers.append(_Worker(len(workers) + 1))
        except RuntimeError:  # "can't start new thread": fewer pieces run in parallel
            break
    return workers[:count]


def parallel_for(kernel, count, *args, pieces=None, serial=False, holds_blas=True):
    """``kernel(*args, start, stop)`` over ``pieces`` contiguous pieces of ``range(count)`` (default
    one per thread), claimed in turn by this thread and the workers (see the module docstring);
    ``kernel(*args, 0, count)`` here if ``serial`` or with one thread; the same pieces one after the
    other here when the pool is busy, inside ``on_this_thread``, or when this launch shape was
    measured to run faster so (``launch_timing``). Raises the exception of the first piece (by
    position) that raised one: split, after all pieces have ended; one after the other, at once.
    A split launch keeps our products' BLAS on one thread for a while (``workers_ran_lately``)
    unless ``holds_blas`` is False: the parts of a product, and the optimizer updates, which run
    between steps and are timed beside whatever BLAS does."""
    captured = getattr(_here, "captured", None)
    if captured is not None:  # recorded, not run (``launch_groups.captured_launches``)
        captured.append((kernel, count, args, pieces, serial, holds_blas))
        return
    threads = 1 if serial else get_num_threads()
    if pieces is not None and threads > 1:
        joined = getattr(_here, "joined", None)
        if joined is not None and joined.join(kernel, count, args, min(pieces, count), holds_blas):
            return  # held for the next launch of its shape, or run with it (``launch_groups``)
    prologue = getattr(_here, "prologue", None)
    if prologue is not None:  # (only inside launch_groups.prologue: a pooling's backward)
        taken = prologue.take(kernel, count, args, pieces, serial)
        if taken is not None:
            kernel, args = taken
    pieces = min(threads if pieces is None else pieces, count)
    if threads <= 1 or pieces <= 1:
        kernel(*args, 0, count)
        return
    if getattr(_here, "serial", False) or not _pool["lock"].acquire(blocking=False):
        _one_after_the_other(kernel, count, pieces, args)  # here (on_this_thread), or another
        return                                              # launch has the workers: never wait
    try:
        times = launch_timing.times_of(kernel, count, pieces, args)
        split = times.use_split() or not launch_timing.ADAPTIVE  # measured: do workers pay?
        start = launch_timing.clock()
        if split:
            if holds_blas:
                _pool["kernel_split_at"] = start
            workers = _workers(min(threads, pieces) - 1)
            launch = _Launch(kernel, args, count, pieces, len(workers) + 1)
            first = launch.claim(0)  # piece 0 is this thread's
            for worker in workers:
                worker.submit(launch)
            launch.run(0, first)
            launch.done.acquire()
            if launch.errors:
                raise launch.errors[min(launch.errors)]
        else:
            _one_after_the_other(kernel, count, pieces, args)
        times.record(split, launch_timing.clock() - start)
    finally:
        _pool["lock"].release()


def workers_ran_lately() -> bool:
    """Whether our workers ran pieces of a kernel (a convolution, a ReLU; not a product's parts nor
    an optimizer update) in the last ``BLAS_HELD_FOR`` seconds: then a product keeps BLAS to one
    thread (``kernels.matmul``)."""
    started = _pool["kernel_split_at"]
    return started is not None and launch_timing.clock() - started < BLAS_HELD_FOR


def _one_after_the_other(kernel, count, pieces, args):
    """The pieces of a launch on this thread, in order: the same calls, so the same bits, as when
    they are split across threads."""
    for index in range(pieces):
        kernel(*args, *_bounds(index, count, pieces))


def _bounds(index, count, pieces):
    """(start, stop) of piece ``index`` of ``pieces`` over ``range(count)``."""
    return index * count // pieces, (index + 1) * count // pieces


def pieces_for(items, multiply_adds, buffer_bytes=0):
    """How many pieces to cut ``items`` (images, say) into for a kernel of ``multiply_adds``: one
    with one thread; else one per thread, or up to PIECES_PER_THREAD per thread as long as each
    piece keeps PIECE_WORK multiply-adds (so that a piece's launch costs little against it) and,
    for a kernel that gives each piece a buffer of ``buffer_bytes``, the buffers together stay
    within PIECE_BUFFER_BYTES (never fewer than one piece per thread, as before the finer cut)."""
    threads = get_num_threads()
    if threads <= 1 or items <= 1:
        return 1
    finer = min(PIECES_PER_THREAD * threads, int(multiply_adds // PIECE_WORK))
    if buffer_bytes > 0:
        finer = min(finer, PIECE_BUFFER_BYTES // buffer_bytes)
    return max(1, min(items, max(threads, finer)))


class on_this_thread:
    """``with on_this_thread(): ...``: every launch inside runs its pieces one after the other on
    the calling thread (a kernel family's first call, which loads or compiles it: one thread at a
    time reads the cache). The pieces are those of a launch outside, so the first call of a
    family gives the bits that the later ones give."""

    def __enter__(self):
        self._saved = getattr(_here, "serial", False)
        _here.serial = True
        return self

    def __exit__(self, *exc):
        _here.serial = self._saved
        return False


def serial(size) -> bool:
    """True if a memory-bound pass over ``size`` elements should run on the calling thread."""
    return size < PARALLEL_MIN_SIZE or get_num_threads() == 1


def _after_fork_in_child():
    """Only the forking thread lives on in a child: our workers are gone, and a lock another
    thread held (the pool's) would stay held. Start afresh (``blas`` does the same for BLAS)."""
    _pool["workers"], _pool["lock"] = [], threading.Lock()
    _settings["cores"] = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
