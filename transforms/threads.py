"""One thread for the BLAS library's own pool in a worker process.

A worker runs one video per thread, each with a decoder thread beside it, and the matrix
products of the pass are small (a frame's fingerprint: about 100 x 180 x 320). OpenBLAS, which
numpy uses, splits any product of more than 64^3 multiply-adds over every core and its threads
spin while they wait for the next one: on the project's 2-core machine a fingerprint cost
3.5 ms of CPU with the default two BLAS threads and 1.0 ms with one (benchmarks/RESULTS.md,
issue 23). Called from the setup of the workers' numeric stages; process-wide, like the
pool it limits.
"""

from __future__ import annotations


def one_blas_thread() -> None:
    """Limit every BLAS library loaded in this process to one thread."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
