"""A convolution, the ReLU after it and the max pooling after that, in one launch cut by images.

A CNN's ``Conv2d -> ReLU -> MaxPool2d`` is three launches, each handing its pieces to the workers
and waiting for them (70-110 us a hand-over on the 2-vCPU Intel Xeon VMs we measure on), each
streaming the whole batch's outputs through memory (the course CNN's first convolution writes
5.5 MB at batch 64, which the ReLU reads back and writes again, and the pooling reads once more).
Here they are one launch, cut by images:

    chunks = images cut so that a chunk's outputs (convolution, ReLU and mask, pooling and argmax)
             take at most about CHUNK_BYTES, their number a multiple of the thread count
    for each chunk c (split across our threads like any launch, ``threads.parallel_for``):
        the convolution's kernel, its images of chunk c        (the launch it made, cut again)
        the ReLU's kernel, the elements of those images
        the pooling's kernel, the planes of those images

so the small ReLUs and poolings that would run on one thread are split too, and a chunk's
convolution output is still in L2 when its ReLU and pooling read it. The three launches are the
ones the kernels make (``launch_groups.captured_launches`` records them instead of running them), so
every element is computed by the same code from the same inputs: the same bits as the three
launches one after the other (``tests/test_chain.py``).

Only with 2 threads or more, and outputs of MIN_OUTPUT_BYTES or more (course CNN training step,
Intel Xeon family 6 model 167, MNIST, in-process interleaved medians against the unchained step):
2 threads, batch 64, 0.954 of the time with both layers chained (0.978 with the first alone), batch
256 about 0.97; but batch 8 1.045 with its small outputs chained, and at 1 thread batch 64 0.98 and
batch 256 1.05-1.06 (one thread gains no hand-over, and the deep convolution's kernel runs less
well cut into chunks).

``kernels.chained_conv_relu_pool`` decides when to chain and hands the ReLU's and the pooling's
outputs to their ops (``nn.Sequential`` asks for it); the NumPy references need nothing here:
the three ops' references are the chain's.
"""
from __future__ import annotations

from . import threads

CHUNK_BYTES = 2 ** 21     # a chunk's outputs, all five arrays (L2 is 2 MB a core on the Intel Xeon
#                           VMs we measure on; 1 MB on AMD Zen 4): 8 of the course CNN's images
MIN_OUTPUT_BYTES = 2 ** 20  # convolution outputs from which chaining pays (see above)


def worth_chaining(images, conv_output_bytes):
    """Whether a convolution's output of ``conv_output_bytes`` over ``images`` is chained."""
    return (images >= 2 and conv_output_bytes >= MIN_OUTPUT_BYTES
            and threads.get_num_threads() >= 2)


def run(conv_launch, relu_launch, pool_launch, conv_out, pooled):
    """Run the captured launches of a convolution (``launch_groups.cut_by_images``) into ``conv_out``, a ReLU (over elements) and a max pooling (over
    planes) into ``pooled`` as one launch of chunks of images (see the module docstring)."""
    images, channels = conv_out.shape[:2]
    per_image, pooled_per_image = conv_out[0].size, pooled[0].size
    itemsize = conv_out.itemsize  # convolution and ReLU, mask (1), pooling, argmax (4)
    chunk_bytes = per_image * (2 * itemsize + 1) + pooled_per_image * (itemsize + 4)
    threads_used = threads.get_num_threads()  # a multiple of it: no thread left idle at the end
    chunks = -(-images * chunk_bytes // CHUNK_BYTES)
    chunks = max(1, min(images, -(-chunks // threads_used) * threads_used))
    conv_kernel, conv_args = conv_launch[0], conv_launch[2][:-1] + (chunks,)  # images in chunks
    relu_kernel, relu_args = relu_launch[0], relu_launch[2]
    pool_kernel, pool_args = pool_launch[0], pool_launch[2]
    threads.parallel_for(_chunks, chunks, conv_kernel, len(conv_args), relu_kernel,
                         len(relu_args), pool_kernel, len(pool_args), images, per_image,
                         channels, chunks, *conv_args, *relu_args, *pool_args, pieces=chunks)


def _chunks(conv_kernel, conv_arity, relu_kernel, relu_arity, pool_kernel, pool_arity, images,
            relu_per_image, planes_per_image, chunks, *rest):
    """Chunks first <= c < last (the two last arguments): for each, the convolution's pieces c
    (of ``chunks``), then the ReLU over those images' elements, then the pooling over their
    planes. The arrays stay top-level arguments, so that ``launch_timing`` tells shapes apart."""
    first, last = rest[-2], rest[-1]
    conv_args = rest[:conv_arity]
    relu_args = rest[conv_arity:conv_arity + relu_arity]
    pool_args = rest[conv_arity + relu_arity:conv_arity + relu_arity + pool_arity]
    for chunk in range(first, last):
        start, stop = chunk * images // chunks, (chunk + 1) * images // chunks
        conv_kernel(*conv_args, chunk, chunk + 1)
        relu_kernel(*relu_args, start * relu_per_image, stop * relu_per_image)
        pool_kernel(*pool_args, start * planes_per_image, stop * planes_per_image)

