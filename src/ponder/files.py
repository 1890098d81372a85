"""Atomic writes: a file or folder appears complete under its name, or not at all.

Everything ponder writes (results, plots, searches, checkpoints) goes to a temporary sibling and is renamed into
place, so an interrupted run never leaves a half-written file. `tempfile` creates its temporaries private (0600
files, 0700 folders); left so, every result and checkpoint would be unreadable to the rest of a shared machine, so
the temporaries get the permissions a plain `open` or `mkdir` would have given under the caller's umask.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Write text or bytes to `path` through a temporary sibling renamed into place."""
    return write_with(path, lambda tmp: tmp.write_bytes(data if isinstance(data, bytes) else data.encode()))


def write_with(path: Path, write: Callable[[Path], object]) -> Path:
    """Let `write(tmp)` fill a temporary sibling file, then rename it to `path`; on failure nothing is left behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def temp_folder(folder: Path) -> Path:
    """A fresh temporary sibling of `folder` to fill and rename into place, with a plain `mkdir`'s permissions."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    return tmp
