"""Giving freed memory back to the system: the refresh's stages run one after another in one process tree,
and what an earlier stage freed should not count in a later stage's peak (issue 17)."""
from __future__ import annotations


def return_freed_memory() -> None:
    """Collect, then ask glibc to give freed heap pages back to the OS (RSS falls, not just Python's heap)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):        # not glibc: the memory is still reused by this process
        pass
