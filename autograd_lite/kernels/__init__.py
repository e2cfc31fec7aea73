"""Array kernels behind the differentiable ops: matmul, convolution, pooling.

``reference`` holds the plain NumPy version of every kernel (also the ``numpy`` backend); the
functions re-exported here are what the ops call.
"""
from .reference import (matmul, conv2d_forward, conv2d_input_grad, conv2d_weight_grad,
                        max_pool2d_forward, max_pool2d_backward, max_pool2d_gather,
                        avg_pool2d_forward, avg_pool2d_backward, output_size)
