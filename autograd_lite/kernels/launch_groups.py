"""Launches taken together: held for the next one of their shape (``joined_launches``),
recorded instead of run, to be run another way (``captured_launches``, ``run_captured``), or run
image by image inside the next launch cut by images (``prologue``).

``threads.parallel_for`` looks in its thread's ``threads._here`` for an open block of each kind:
``captured`` (a list: the launch is appended, nothing runs), then ``joined`` (a launch with
pieces at 2 or more threads may be held or joined), then ``prologue`` (a launch that runs may take
it in, or must wait for it). All are per thread and end with their block.
"""
from __future__ import annotations

import contextlib

import numpy as np

from . import threads


class joined_launches:
    """``with joined_launches() as joined:`` ... ``with joined.holding():`` ...: a split launch made
    inside ``holding()`` (one with ``pieces`` given, at 2 or more threads) is held until the next
    launch of the block with the same ``count`` and ``pieces``, and the two run as one launch:
    piece i of the held kernel, then piece i of the other, on whichever thread claims piece i
    (``_pair``). The same calls as two launches, so the same bits; one wake-up of the workers
    and one wait for them instead of two (each cost 30-80 us on the 2-vCPU Intel Xeon VM, family
    6 model 167: ``Conv2d``'s backward, the input gradient held for the weight gradient,
    3.56 -> 3.45 and 3.59 -> 3.41 ms for forward+backward of x (64, 32, 13, 13) at 2 threads,
    in-process interleaved medians), and each image's gradient is read by both kernels while it
    is in the cache. Other launches run as usual; a held launch that finds no partner runs when
    the block ends (not when it raises). So the held kernel's output is complete only after the
    block, and nothing in the block may read it (``kernels.conv2d_grads``). Per thread: another
    host thread's launches are never held."""

    def __enter__(self):
        self._outer, self.held, self._holding = getattr(threads._here, "joined", None), None, False
        threads._here.joined = self
        return self

    def __exit__(self, exc_type, *exc):
        threads._here.joined = self._outer
        held, self.held = self.held, None
        if held is not None and exc_type is None:
            kernel, count, args, pieces, holds_blas = held
            threads.parallel_for(kernel, count, *args, pieces=pieces, holds_blas=holds_blas)
        return False

    @contextlib.contextmanager
    def holding(self):
        """A context in which the (first) split launch is held (see the class docstring)."""
        self._holding = True
        try:
            yield self
        finally:
            self._holding = False

    def join(self, kernel, count, args, pieces, holds_blas) -> bool:
        """True when ``parallel_for`` has nothing left to do: the launch is now held, or it ran
        with the one held."""
        if pieces <= 1 or getattr(threads._here, "serial", False):
            return False
        held = self.held
        if held is None:
            if self._holding:
                self.held = (kernel, count, args, pieces, holds_blas)
                return True
            return False
        first, first_count, first_args, first_pieces, first_holds_blas = held
        if self._holding or first_count != count or first_pieces != pieces:
            return False
        self.held = None
        threads._here.joined = None  # the pair's own launch is not held again
        try:
            threads.parallel_for(_pair, count, first, len(first_args), *first_args, kernel, *args,
                         pieces=pieces, holds_blas=first_holds_blas and holds_blas)
        finally:
            threads._here.joined = self
        return True


@contextlib.contextmanager
def captured_launches():
    """``with captured_launches() as launches:``: every ``parallel_for`` of this thread inside the
    block is appended to ``launches`` as (kernel, count, args, pieces, serial, holds_blas)
    instead of running, so its outputs stay unwritten; whoever captured them runs them
    (``run_captured``, or ``kernels.chain``: a
    convolution's launch cut again, with the ReLU and pooling after it, into one launch)."""
    outer, launches = getattr(threads._here, "captured", None), []
    threads._here.captured = launches
    try:
        yield launches
    finally:
        threads._here.captured = outer


def run_captured(launches):
    """Run launches recorded by ``captured_launches``, in order, as they would have run."""
    for kernel, count, args, pieces, serial, holds_blas in launches:
        threads.parallel_for(kernel, count, *args, pieces=pieces, serial=serial,
                             holds_blas=holds_blas)


class prologue:
    """``with prologue(launch, images, per_image, output):`` the captured ``launch`` (a kernel over
    ``images * per_image`` units, ``per_image`` to an image, that writes ``output``: a pooling's
    backward over planes) runs inside the first launch of the block cut by images, image by image:

        for each piece p of that launch (images [p N // pieces, (p + 1) N // pieces), N = images):
            the captured kernel over those images' units, then the launch's own kernel, piece p

    so a piece reads the part of ``output`` it needs right after it was written, and the two are
    one hand-over to the workers instead of two (``kernels.pooled_conv2d_grads``: a convolution's
    gradients after the pooling that follows its ReLU). Cut by images: ``cut_by_images``.
    A launch of another form that may read ``output`` (an array argument sharing memory with it)
    runs only after the captured one has run whole, as does the block's end; ``written(array)``
    runs it before NumPy reads ``array``. The same kernel calls on the same units either way: the
    same bits (``tests/test_pooled_conv_grads.py``)."""

    def __init__(self, launch, images, per_image, output):
        self.launch, self.images, self.per_image, self.output = launch, images, per_image, output

    def __enter__(self):
        self._outer = getattr(threads._here, "prologue", None)
        threads._here.prologue = self
        return self

    def __exit__(self, exc_type, *exc):
        try:
            if self.launch is not None and exc_type is None:
                self._run_whole()
        finally:
            self.launch = None
            threads._here.prologue = self._outer
        return False

    def _run_whole(self):
        launch, self.launch = self.launch, None
        threads._here.prologue = self._outer  # (the launch itself runs as any other)
        try:
            run_captured([launch])
        finally:
            threads._here.prologue = self

    def take(self, kernel, count, args, pieces, serial):
        """The launch ``parallel_for`` is about to run, with this prologue taken in (kernel, args),
        or None: run it as it is (after the prologue when it may read the output)."""
        if self.launch is None:
            return None
        if cut_by_images(count, args, pieces, serial) and count <= self.images:
            first, first_count, first_args = self.launch[:3]
            self.launch = None
            return _with_prologue, (first, len(first_args), self.images, self.per_image, count,
                                    *first_args, kernel, *args)
        if any(isinstance(arg, np.ndarray) and np.may_share_memory(arg, self.output)
               for arg in args):
            self._run_whole()
        return None


def cut_by_images(count, args, pieces, serial) -> bool:
    """Whether a launch is cut by images the way the convolution kernels cut them: its pieces
    are its count and its last argument, and piece p is images [p N // count, (p + 1) N // count)
    of the N it works on (``kernels.chain`` cuts such a launch again, ``prologue`` joins it)."""
    return (pieces == count and not serial and bool(args) and type(args[-1]) is int
            and args[-1] == count)


def written(array):
    """Before NumPy reads ``array``: run this thread's pending ``prologue`` if it writes there."""
    pending = getattr(threads._here, "prologue", None)
    if pending is not None and pending.launch is not None and \
            np.may_share_memory(array, pending.output):
        pending._run_whole()


def _with_prologue(first, arity, images, per_image, pieces, *rest):
    """Pieces start <= p < stop of the kernel at ``rest[arity]`` (its arguments after it), each
    after ``first(*rest[:arity], u0, u1)`` over the units of the piece's images (``prologue``)."""
    start, stop = rest[-2], rest[-1]
    kernel = rest[arity]
    for piece in range(start, stop):
        low, high = piece * images // pieces, (piece + 1) * images // pieces
        first(*rest[:arity], low * per_image, high * per_image)
        kernel(*rest[arity + 1:-2], piece, piece + 1)


def _pair(first, arity, *rest):
    """Piece (start, stop) of two kernels: ``first(*rest[:arity], start, stop)``, then the kernel at
    ``rest[arity]`` with the arguments after it (the arrays stay top-level arguments, so that
    ``launch_timing`` tells the shapes apart)."""
    start, stop = rest[-2], rest[-1]
    first(*rest[:arity], start, stop)
    rest[arity](*rest[arity + 1:-2], start, stop)
