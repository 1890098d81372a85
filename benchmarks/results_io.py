"""Where benchmark scripts put their figures: benchmarks/results/, written whole (temp file, then rename)."""

from __future__ import annotations

import json
import os
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_results(stem: Path | str, doc: dict, markdown: str | None = None) -> Path:
    """Write `doc` to STEM.json (and `markdown` to STEM.md); a bare name goes under benchmarks/results/."""
    stem = Path(stem)
    if stem.parent == Path("."):
        stem = RESULTS / stem
    stem.parent.mkdir(parents=True, exist_ok=True)
    for suffix, text in ((".json", json.dumps(doc, indent=1) + "\n"), (".md", markdown)):
        if text is None:
            continue
        target = stem.with_suffix(suffix)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text if text.endswith("\n") else text + "\n")
        os.replace(tmp, target)
    return stem.with_suffix(".json")
