"""Average the weights of checkpoints of one architecture (a uniform "model soup"), e.g. two successive stages of a
fine-tune, into a new checkpoint folder. Usage:
    python scripts/average_checkpoints.py runs/ctx4k/final runs/ctx4k-2/final --out runs/soup/final

Why a script of its own: mergekit does this (its `linear` method) but pulls in a large dependency set for what is, on
checkpoints ponder itself writes, a mean over matching tensors. The first checkpoint gives the tokenizer and the
effort budgets; the sources must share the architecture and the tokenizer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from ponder.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def average_checkpoints(sources: list[str], out: str | Path) -> Path:
    """Write the uniform average of `sources` (checkpoint folders or shipped names) to `out`, atomically."""
    if len(sources) < 2:
        raise CheckpointError("averaging needs at least two checkpoints")
    loaded = [load_checkpoint(source) for source in sources]
    model, tokenizer, meta, _ = loaded[0]
    config = model.config.to_diff_dict()
    for source, (other, other_tokenizer, _, _) in zip(sources[1:], loaded[1:], strict=True):
        if other.config.to_diff_dict() != config:
            raise CheckpointError(f"{source} has another architecture than {sources[0]}")
        if other_tokenizer.get_vocab() != tokenizer.get_vocab():
            raise CheckpointError(f"{source} has another tokenizer than {sources[0]}")
    states = [m.state_dict() for m, _, _, _ in loaded]
    with torch.no_grad():
        averaged = {name: sum(state[name] for state in states) / len(states) for name in states[0]}
    model.load_state_dict(averaged)
    command = "python scripts/average_checkpoints.py " + " ".join(map(str, sources)) + f" --out {out}"
    meta.recipe = {"stage": "average", "command": command, "sources": [str(s) for s in sources]}
    meta.parent = str(sources[-1])
    return save_checkpoint(model, tokenizer, meta, out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="+", help="two or more checkpoint folders (or shipped model names)")
    parser.add_argument("--out", required=True, help="the new checkpoint folder, e.g. runs/soup/final")
    args = parser.parse_args()
    try:
        folder = average_checkpoints(args.sources, args.out)
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote the average of {len(args.sources)} checkpoints to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
