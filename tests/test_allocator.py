"""The allocator setting every training job gets (snnbench/allocator.py)."""

from __future__ import annotations

import platform

import pytest

from snnbench.allocator import keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_takes_the_setting():
    """glibc accepts both thresholds (mallopt returns 0 for a value out of its range)."""
    assert keep_freed_memory() is True
