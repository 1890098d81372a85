"""The JSONL metrics file of a training run, consistent across `--resume`.

A run killed between two checkpoints has logged steps that its resumed self will run again; opening the log for a
resumed run first drops the rows past the checkpoint's step, so every step appears once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from ponder.files import write_atomic


def open_metrics(path: Path, resumed_at: int) -> TextIO:
    """Append handle to `path` holding only the rows with step <= resumed_at (all of them are dropped for a
    fresh run, resumed_at=0). The rewrite goes through a temporary file and a rename."""
    if path.exists():
        rows = [line for line in path.read_text().splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= resumed_at]
        write_atomic(path, "".join(row + "\n" for row in rows))
    return path.open("a")
