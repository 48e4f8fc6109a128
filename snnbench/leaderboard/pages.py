"""Names from submitted result files become page paths and links; nothing in them is trusted.

Method names are free text in a result file (a submitter may call a method anything), so
page file names are slugs derived from them, every rendered string is escaped by the
templates, and only http(s) addresses ever become links.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from snnbench.errors import SnnbenchError

_SLUG_SAFE = re.compile(r"[^a-z0-9._-]+")
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)


class UnsafeNameError(SnnbenchError):
    """A page path that would leave the output folder."""


def page_slug(name: str) -> str:
    """A file name made only of [a-z0-9._-]; a hash keeps distinct names distinct."""
    slug = _SLUG_SAFE.sub("-", name.lower()).strip("-.") or "x"
    if slug != name:
        slug = f"{slug[:48]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return slug


def inside(root: Path, relative: str) -> Path:
    """root / relative, refusing anything that resolves outside root."""
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        raise UnsafeNameError(f"{relative!r} resolves outside {root}")
    return target


def http_links(text: str | None) -> list[str]:
    """The http(s) addresses in a free-text field; other schemes (javascript:, data:) never link."""
    return [url.rstrip(".,;:)]") for url in _URL.findall(text or "")]
