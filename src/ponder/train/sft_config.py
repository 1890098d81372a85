"""The settings of `ponder train sft` (ponder.train.sft), in a module without torch: the command line reads its
defaults from here, so `ponder --help` and a refused flag answer at once instead of after torch's import."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ponder.model.checkpoint import resolve_model
from ponder.model.config import MODEL_SIZES
from ponder.tasks import get_task
from ponder.tasks.countdown_search import DEFAULT_GUIDE


@dataclass
class SFTConfig:
    out: str = "runs/sft"  # run folder: last/ (resumable), final/ (the trained checkpoint), metrics.jsonl
    size: str = "tiny"  # model size, a key of ponder.model.config.MODEL_SIZES
    init: str | None = None  # start from this checkpoint (a shipped name or a folder) instead of random weights
    steps: int = 2000  # optimizer steps
    batch_tokens: int = 12288  # tokens per optimizer step (examples, unpadded)
    lr: float = 2e-3
    warmup: int = 100
    weight_decay: float = 0.01
    max_len: int = 640  # the widest row; longer examples are dropped (a handful of very long searches)
    # narrower rows for the examples that fit them: attention costs the square of the width (1.34x the tokens/s of
    # 640 alone, measured: benchmarks/results/sft_throughput.json)
    short_rows: tuple[int, ...] = (64, 128, 192, 320, 448)
    tasks: tuple[str, ...] = ("arithmetic", "countdown")
    # sampling weight of each of `tasks` (None: equal). A stage that teaches one task something new (arithmetic's
    # per-effort scratchpads) gives it most examples while the other's traces keep what it knows.
    task_weights: tuple[float, ...] | None = None
    level_weights: tuple[float, ...] = (1.0, 1.0, 1.5, 2.0, 2.5)  # sampling weight of levels 1..5
    direct_frac: float = 0.15  # share of examples in direct-answer form
    slip_rate: float = 0.04  # rate of deliberate (masked) slips per trace step
    countdown_guide: float = DEFAULT_GUIDE  # share of countdown search states whose trace tries solvable moves first
    # Weight of the unlikelihood loss (Welleck et al. 2020) on the tokens a trace marks `avoid`: those that would
    # repeat a countdown move already tried from the same numbers. The next-token loss alone teaches which move the
    # solver took, never that a tried one is wrong, and the model went round in circles (countdown_failures.md).
    unlikelihood: float = 0.0
    # Every this many steps (0: never), decode `repeat_problems` countdown training problems with the current
    # weights; the token where each search first repeats a move is an unlikelihood target in every step until the
    # next round (ponder.train.own_repeats): the model's own loops, which clean traces never show.
    repeat_every: int = 0
    repeat_problems: int = 64
    # Verified searches of the model's own (JSONL files of `ponder train searches`, ponder.train.own_searches)
    # and the share of their task's examples drawn from them instead of solver traces: rejection-sampling
    # fine-tuning, R1's third stage. The task mix stays as it is: taking half of all examples from countdown searches
    # instead (so arithmetic fell to a quarter of them) lost arithmetic level 2 at a 128-token budget, 95% -> 80%.
    own_searches: tuple[str, ...] = ()
    own_share: float = 0.75
    # Share of the places in a countdown search (solver trace or own search) where a move already tried from the
    # same numbers could be written again, that get one written, masked, then caught (` Wait, no`): the loops of
    # countdown_failures.md, shown with their recovery, since clean traces never let the model notice a repeat.
    catch_rate: float = 0.0
    # Countdown traces (and own searches) list the moves to try at three numbers and copy what is left of the list
    # on each back line there (ponder.tasks.countdown_plans): the next move is a copy, not a choice among untried ones.
    countdown_plans: bool = False
    # Countdown traces try the moves at three numbers or fewer in a fixed order, all of them at two numbers
    # (ponder.tasks.countdown_search._Search): the next move is the successor of the last one tried there.
    countdown_systematic: bool = False
    countdown_prune: bool = False
    countdown_flat: bool = False
    countdown_flat_four: bool = False
    # build_tokenizer(space_prefixed=True): a number or word with the space before it is one token, so the separating
    # spaces of a trace cost none (25-37% of an example's tokens, benchmarks/tokenizer_lengths.py). With --init,
    # the checkpoint's tokenizer must be of the kind this names.
    space_prefixed: bool = False
    cut_frac: float = 0.05  # share of traces cut short as a thinking budget cuts them, then a direct answer
    # State a reasoning effort in each thinking example's prompt (`Reasoning: low`, a system line: gpt-oss's
    # convention), drawn from no line/low/medium/high, with the task's trace for that effort
    # (ponder.tasks.arithmetic_pad): the model learns to think as long as it is asked, not only as long as a budget
    # lets it. The trained model's ponder.json says so (effort_prompt), and ponder then states the effort it asks for.
    effort_prompts: bool = False
    # With effort_prompts, the sampling weights of no line, low, medium and high (None: equal). No line and medium
    # teach the scratchpad every earlier model learned, and high repeats it before its check, so a stage teaching new
    # low and high forms can give those more of the examples.
    effort_weights: tuple[float, ...] | None = None
    # Sampling weights of 0, 1, 2, ... rechecks after a thinking example's finished trace (ponder.recheck; None:
    # none). The trained model's ponder.json gives `high` the most and `medium` one fewer (recheck_counts).
    recheck_weights: tuple[float, ...] | None = None
    pool: int = 1024  # examples packed together at a time
    seed: int = 0
    eval_every: int = 250  # steps between held-out accuracy checks (0: never)
    eval_n: int = 6  # held-out problems per task and level at each check
    save_every: int = 200  # steps between resumable checkpoints
    bf16: bool | None = None  # bf16 autocast; None: where the hardware has bf16 (see ponder.train.precision)
    # effort budgets written to the model's ponder.json; None: the --init model's (the lengths its searches were
    # trained to: the defaults' 768-token `high` cut the shipped model's ~1,300-token searches), else PonderMeta's
    efforts: dict[str, int] | None = None

    def __post_init__(self) -> None:
        if self.size not in MODEL_SIZES:
            raise ValueError(f"unknown size {self.size!r}; known: {', '.join(MODEL_SIZES)}")
        for name in self.tasks:
            get_task(name)
        if self.task_weights is not None and not _sampling_weights(self.task_weights, len(self.tasks)):
            raise ValueError(f"task_weights needs one non-negative weight per task ({len(self.tasks)}), not all zero")
        if self.effort_weights is not None and not (self.effort_prompts and _sampling_weights(self.effort_weights, 4)):
            raise ValueError("effort_weights needs effort_prompts and four non-negative weights (no line, low, "
                             "medium, high), not all zero")
        looks = self.recheck_weights
        if looks is not None and not (len(looks) >= 2 and _sampling_weights(looks, len(looks))):
            raise ValueError("recheck_weights needs at least two non-negative weights (of 0, 1, ... rechecks), "
                             "not all zero")
        if self.steps < 1 or self.batch_tokens < self.max_len or self.max_len < 32:
            raise ValueError("need steps >= 1, max_len >= 32 and batch_tokens >= max_len")
        if not self.lr > 0:
            raise ValueError(f"learning rate must be > 0, got {self.lr}")
        if not _sampling_weights(self.level_weights, 5):
            raise ValueError("level_weights needs five non-negative weights, not all zero")
        if not 0 <= self.direct_frac <= 1 or not 0 <= self.slip_rate < 1 or not 0 <= self.cut_frac <= 1:
            raise ValueError("direct_frac and cut_frac must be in [0, 1] and slip_rate in [0, 1)")
        if self.init is not None:
            resolve_model(self.init)  # an unknown name or a folder without a checkpoint fails before training
        if not 0 <= self.countdown_guide <= 1:
            raise ValueError(f"countdown_guide must be in [0, 1], got {self.countdown_guide}")
        if not self.unlikelihood >= 0:
            raise ValueError(f"unlikelihood must be >= 0, got {self.unlikelihood}")
        if self.repeat_every < 0 or self.repeat_problems < 1:
            raise ValueError("repeat_every must be >= 0 and repeat_problems >= 1")
        if self.repeat_every and (self.unlikelihood == 0 or "countdown" not in self.tasks):
            raise ValueError("repeat_every needs unlikelihood > 0 and the countdown task")
        modes = [name for name, on in (("--countdown-plans", self.countdown_plans),
                                       ("--countdown-prune", self.countdown_prune),
                                       ("--countdown-flat", self.countdown_flat),
                                       ("--countdown-flat-four", self.countdown_flat_four)) if on]
        if len(modes) > 1:  # each writes its own kind of search: they do not combine
            raise ValueError(f"choose one countdown trace mode, not {' and '.join(modes)}")
        if not 0 <= self.catch_rate <= 1:
            raise ValueError(f"catch_rate must be in [0, 1], got {self.catch_rate}")
        if not 0 < self.own_share <= 1:
            raise ValueError(f"own_share must be in (0, 1], got {self.own_share}")
        if self.own_searches:
            from ponder.train.own_searches import verified_searches  # torch: only with searches to read

            if not verified_searches(self.own_searches):
                raise ValueError(f"{', '.join(self.own_searches)}: no verified search to train on")
        if any(not 0 < w < self.max_len for w in self.short_rows):
            raise ValueError(f"short_rows must lie between 0 and max_len ({self.max_len}), got {self.short_rows}")

    @property
    def row_widths(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.short_rows) | {self.max_len}))

    def command(self) -> str:
        """The `ponder train sft` command line that gives this config (every field that differs from the default)."""
        flags = [f"--out {self.out}"]
        for f in fields(self):
            value, default = getattr(self, f.name), f.default
            if f.name in _NOT_FLAGS or f.name == "out" or value == default:
                continue
            if isinstance(value, bool):
                flags.append(f"--{'' if value else 'no-'}{f.name.replace('_', '-')}")
            elif isinstance(value, tuple):
                flags.append(f"--{f.name.replace('_', '-')} {','.join(map(str, value))}")
            else:
                flags.append(f"--{f.name.replace('_', '-')} {value}")
        return "ponder train sft " + " ".join(flags)


def _sampling_weights(weights: tuple[float, ...], n: int) -> bool:
    """Whether `weights` can weight a draw among `n` choices: n of them, none negative, not all zero."""
    return len(weights) == n and min(weights) >= 0 and sum(weights) > 0


# Config fields without a `ponder train sft` flag: they keep their defaults on the command line.
_NOT_FLAGS = {"tasks", "direct_frac", "slip_rate", "cut_frac", "pool", "eval_n", "efforts",
              "weight_decay", "repeat_problems"}
