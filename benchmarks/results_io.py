"""Where benchmark scripts put their figures: benchmarks/results/, written whole (temp file, then rename)."""

from __future__ import annotations

import json
from pathlib import Path

from ponder.files import write_atomic

RESULTS = Path(__file__).resolve().parent / "results"


def write_results(stem: Path | str, doc: dict, markdown: str | None = None) -> Path:
    """Write `doc` to STEM.json (and `markdown` to STEM.md); a bare name goes under benchmarks/results/."""
    stem = Path(stem)
    if stem.parent == Path("."):
        stem = RESULTS / stem
    for suffix, text in ((".json", json.dumps(doc, indent=1) + "\n"), (".md", markdown)):
        if text is not None:
            write_atomic(stem.with_suffix(suffix), text if text.endswith("\n") else text + "\n")
    return stem.with_suffix(".json")
