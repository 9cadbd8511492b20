"""Keep a serving worker's large buffers in its heap, so that each request does not map fresh pages.

glibc's malloc serves a block above its mmap threshold (128 KiB, raised as such blocks are freed, up to
32 MiB) with newly mapped pages and unmaps them when the block is freed. Where the threshold has not risen
(it depends on what the worker did before), every 1 MB CSV request mapped and faulted in about 3,000 pages
again: 5 ms of system time and 2 ms of page zeroing in a 25 ms request (benchmarks/bench_scoring.py). A fixed
threshold of 32 MiB and a trim threshold of 64 MiB let requests reuse the same heap pages; a worker keeps up to
64 MiB of freed memory for that. Other C libraries (no `mallopt`) are left as they are.
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD = -1  # glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's largest (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit)
TRIM_THRESHOLD_BYTES = 64 << 20


def keep_large_blocks() -> bool:
    """Set both thresholds; True when the C library took them."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
