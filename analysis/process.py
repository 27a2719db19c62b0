"""Settings of one command-line process: memory given back to the system, one BLAS thread.

Two allocators keep memory that a long run has freed, so that a later phase's peak adds to what
an earlier phase left behind:

* glibc's ``malloc`` serves blocks above its *mmap threshold* with ``mmap`` (returned to the
  system when freed) and smaller ones from its heap, which cannot shrink below a block still in
  use. The threshold starts at 128 KiB but rises to the size of every large block freed (up to
  32 MiB), so after the first large temporary array, arrays of tens of MB stay in the heap. Here
  the threshold is fixed at 1 MiB: large arrays go back to the system when freed.
* Arrow's default pool (mimalloc or jemalloc) keeps freed pages for Arrow alone; the system
  allocator is used instead, so that pandas, numpy and Arrow share one heap.

OpenBLAS starts a worker thread per core that spin-waits after each product; the analysis
already runs with one BLAS thread (``threadpoolctl`` in :mod:`analysis.run.pipeline`), and a
command started from the shell gets one BLAS thread from the start (its many small products
gain nothing from threads, and the spinning costs CPU time).

:func:`tune_for_batch` applies these to the ``itb`` process (a notebook kernel is left alone).
:func:`release_freed` asks glibc to give back the free pages inside its heap (``malloc_trim``,
about 2 ms): freed small blocks, such as the many pieces of a results table, otherwise stay
resident while the table's sorted copy is built in new memory.

At 2,000 patients x 6 visits x 10 measures the memory settings lower the peak of
``itb analyze`` by about 130 MB (of 560) at no measurable cost in time
(``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

__all__ = ["MMAP_THRESHOLD", "release_freed", "tune_for_batch"]

_M_MMAP_THRESHOLD = -3  # glibc <malloc.h>
_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: Blocks of at least this many bytes are served by mmap (glibc).
MMAP_THRESHOLD = 1 << 20


@functools.cache
def _libc():
    """The C library of this interpreter when it is glibc (has ``mallopt`` and
    ``malloc_trim``), else None (looked up on first use)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt, libc.malloc_trim  # noqa: B018 - musl has neither
    except (OSError, AttributeError):
        return None
    return libc



def release_freed() -> bool:
    """Give the free pages of the C heap back to the system (glibc); True when it did.

    Examples
    --------
    >>> release_freed() in (True, False)
    True
    """
    libc = _libc()
    return bool(libc is not None and libc.malloc_trim(0))


def tune_for_batch() -> tuple[str, ...]:
    """Apply the settings of the module docstring to this process; return which took effect.

    Call it once, at the start of a command: a fixed mmap threshold cannot be undone (glibc then
    stops adapting it), which is right for a batch process and wrong for a notebook kernel.

    Examples
    --------
    >>> import pyarrow as pa
    >>> "arrow" in tune_for_batch(), pa.default_memory_pool().backend_name
    (True, 'system')
    """
    done = []
    libc = _libc()
    if libc is not None and libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1:
        done.append("malloc")
    if "numpy" not in sys.modules:  # read by OpenBLAS when numpy loads it (not after)
        for name in _BLAS_THREADS:
            os.environ.setdefault(name, "1")
        done.append("blas")
    import pyarrow as pa  # imported here: the command line starts without it

    pa.set_memory_pool(pa.system_memory_pool())
    done.append("arrow")
    return tuple(done)
