"""The workers' numeric stages run BLAS on one thread (transforms/threads.py)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_one_blas_thread_limits_every_blas_library_loaded():
    # a fresh interpreter: the limit is process-wide and would leak into other tests
    code = ("import numpy, threadpoolctl\n"
            "from transforms.threads import one_blas_thread\n"
            "before = [i['num_threads'] for i in threadpoolctl.threadpool_info()"
            " if i['user_api'] == 'blas']\n"
            "one_blas_thread()\n"
            "after = [i['num_threads'] for i in threadpoolctl.threadpool_info()"
            " if i['user_api'] == 'blas']\n"
            "print(before, after)\n"
            "assert after and set(after) == {1}, after\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "OPENBLAS_NUM_THREADS": "2"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("[2")  # the limit changed something
