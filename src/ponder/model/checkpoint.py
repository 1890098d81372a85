"""Checkpoint folders (DESIGN.md): a `save_pretrained` folder plus `ponder.json`; names of shipped models.

Writes are atomic: a checkpoint is written to a temporary sibling folder and renamed into place, so an interrupted
run never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ponder.files import temp_folder

if TYPE_CHECKING:  # torch and transformers load with a model: names and ponder.json alone serve the CLI's checks
    import torch
    from transformers import PreTrainedModel

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = "ponder-tiny-sft"
PONDER_JSON = "ponder.json"


class CheckpointError(ValueError):
    """A model name or folder that cannot be loaded; the message says why in one line."""


@dataclass
class PonderMeta:
    """What ponder needs beside the transformers files: effort budgets, recipe, parent, eval summary."""

    efforts: dict[str, int] = field(default_factory=lambda: {"none": 0, "low": 64, "medium": 192, "high": 768})
    answer_budget: int = 48
    recipe: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None
    eval: dict[str, Any] = field(default_factory=dict)
    # Trained to read its reasoning effort from the prompt (`Reasoning: high`, ponder.effort_prompt):
    # ponder then states the effort it asks for (not for `none` or an explicit budget, which keep the plain prompt).
    effort_prompt: bool = False
    # Trained with rechecks (ponder.recheck): how many each effort takes, e.g. {"medium": 1, "high": 2}.
    rechecks: dict[str, int] = field(default_factory=dict)
    # With rechecks: answer what most passes would answer (GenerationParams.vote), not only the last pass.
    recheck_vote: bool = False

    @classmethod
    def load(cls, folder: Path) -> PonderMeta:
        path = folder / PONDER_JSON
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        names = ("efforts", "answer_budget", "recipe", "parent", "eval", "effort_prompt", "rechecks",
                 "recheck_vote")
        known = {k: data[k] for k in names if k in data}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return {"efforts": self.efforts, "answer_budget": self.answer_budget, "recipe": self.recipe,
                "parent": self.parent, "eval": self.eval, "effort_prompt": self.effort_prompt,
                "rechecks": self.rechecks, "recheck_vote": self.recheck_vote}


def shipped_models() -> list[str]:
    return sorted(p.name for p in SHIPPED_DIR.iterdir() if (p / "config.json").exists()) if SHIPPED_DIR.exists() else []


def resolve_model(name_or_path: str | os.PathLike) -> Path:
    """A shipped model's name, or a path to any checkpoint folder."""
    text = str(name_or_path)
    shipped = SHIPPED_DIR / text
    if "/" not in text and (shipped / "config.json").exists():
        return shipped
    path = Path(text).expanduser()
    if path.is_dir() and (path / "config.json").exists():
        return path
    if path.is_dir():
        raise CheckpointError(f"{text} is a folder but not a checkpoint (no config.json)")
    known = ", ".join(shipped_models()) or "none shipped"
    raise CheckpointError(f"no model {text!r}: not a shipped model ({known}) and not a checkpoint folder")


def high_budget(name_or_path: str | os.PathLike) -> int:
    """The thinking budget of a model's `high` effort (its ponder.json): the length its longest searches were trained
    to, so the default budget of the jobs that decode it to learn from (searches, fixes, GRPO's samples)."""
    return PonderMeta.load(resolve_model(name_or_path)).efforts["high"]


def load_checkpoint(name_or_path: str | os.PathLike, dtype: torch.dtype | None = None
                    ) -> tuple[PreTrainedModel, Any, PonderMeta, Path]:
    """Model (in eval mode; float32 unless `dtype`), tokenizer, ponder.json and folder of a name or a folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    dtype = torch.float32 if dtype is None else dtype
    folder = resolve_model(name_or_path)
    hf_logging.disable_progress_bar()  # a 3M-parameter load needs no progress bar of its own
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if not tokenizer.chat_template:
        raise CheckpointError(f"{folder} has no chat template in its tokenizer; ponder needs one")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    model.eval()
    return model, tokenizer, PonderMeta.load(folder), folder


def save_checkpoint(model: PreTrainedModel, tokenizer: Any, meta: PonderMeta, folder: str | os.PathLike,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write a complete checkpoint folder atomically; `extra` maps file names to torch-saved training state."""
    import torch
    from transformers import GenerationConfig
    from transformers.utils import logging as hf_logging

    folder = Path(folder)
    hf_logging.disable_progress_bar()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_folder(folder)
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        _embed_chat_template(tmp, tokenizer.chat_template)
        GenerationConfig(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, do_sample=False).save_pretrained(tmp)
        (tmp / PONDER_JSON).write_text(json.dumps(meta.to_dict(), indent=2) + "\n")
        for name, state in (extra or {}).items():
            torch.save(state, tmp / name)
        old = folder.with_name(f".{folder.name}.old")
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _embed_chat_template(folder: Path, template: str | None) -> None:
    """Also keep the template inside tokenizer_config.json, where older transformers releases look for it."""
    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text())
    config["chat_template"] = template
    path.write_text(json.dumps(config, indent=2) + "\n")
