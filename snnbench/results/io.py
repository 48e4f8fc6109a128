"""Reading untrusted JSON without crashing, and writing result files atomically.

Result files arrive by pull request, so a reader must survive anything: a huge file, bytes
that are not UTF-8, nesting deep enough to exhaust the parser's stack, NaN or Infinity
(which Python's json accepts and JSON does not), numbers that overflow to infinity, and
duplicate keys (which different readers resolve differently).  Each is one clear error.

Writers go through a temporary file in the same folder, named with the writer's pid, then
an atomic rename; a later writer removes temporary files whose writer is gone, so nothing
stray survives a kill and a rerun.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

from snnbench.errors import ResultFileError

MAX_BYTES = 32 << 20  # the largest committed file is ~30 kB; per-iteration traces stay far below
MAX_DEPTH = 32  # the deepest committed structure is 8 levels
# A writer's temporary file: .<name>.<host>-<pid>.tmp.  The host matters where jobs on several
# nodes share one results folder (Slurm): a PID is only known alive or dead on its own host.
_TEMP = re.compile(r"^\..+\.(?:([A-Za-z0-9_]+)-)?(\d+)\.tmp$")
HOST = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname().split(".")[0]) or "host"


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not JSON (NaN and Infinity are refused)")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        duplicate = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"duplicate key {duplicate!r}")
    return dict(pairs)


def depth(value: object) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def read_json(path: Path) -> object:
    """The parsed file, or ResultFileError with one line saying what is wrong with it."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ResultFileError(
                f"{path}: {size} bytes, above the {MAX_BYTES}-byte limit of a result file"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ResultFileError(f"{path}: not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(
            text, parse_float=_finite, parse_constant=_no_constants, object_pairs_hook=_unique_keys
        )
    except RecursionError:
        raise ResultFileError(f"{path}: nested too deeply (limit {MAX_DEPTH})") from None
    except json.JSONDecodeError as exc:
        raise ResultFileError(f"{path}: not valid JSON: {exc}") from None
    except ValueError as exc:
        raise ResultFileError(f"{path}: not valid JSON: {exc}") from None
    if depth(value) > MAX_DEPTH:
        raise ResultFileError(f"{path}: nested too deeply (limit {MAX_DEPTH})")
    return value


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files left in folder by writers of this host that no longer run
    (another host's are left: their PIDs cannot be checked from here)."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        match = _TEMP.match(path.name)
        if not match or (match.group(1) or HOST) != HOST:
            continue
        pid = int(match.group(2))
        if pid != os.getpid() and not _alive(pid):
            path.unlink(missing_ok=True)


def write_atomic(path: Path, document: dict) -> None:
    """The document as indented JSON, written atomically (write_bytes_atomic)."""
    text = json.dumps(document, indent=2, allow_nan=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{HOST}-{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on folder (flock on folder/.lock) for read-modify-write cycles."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
