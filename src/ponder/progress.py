"""One progress bar style for every long job (rich), written to stderr so stdout stays machine-readable."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

LOG_STEPS = 20  # without a terminal, one line each time a job passes another twentieth (and at its end)


class _Progress(Progress):
    """rich draws nothing on a console that is not a terminal (stderr sent to a log file, a background job), and a
    transient bar leaves nothing behind either, so such a job could not be watched. There the bar is written as plain
    lines instead: `eval 7/20 arithmetic L2 low: 56%`."""

    def update(self, task_id: TaskID, **kwargs) -> None:
        task = self._tasks[task_id]
        before = task.completed
        super().update(task_id, **kwargs)
        if self.console.is_terminal or not task.total or task.completed == before:
            return
        if task.completed * LOG_STEPS // task.total > before * LOG_STEPS // task.total or task.completed >= task.total:
            info = task.fields.get("info", "")
            elapsed = task.elapsed or 0.0
            self.console.print(f"{task.description} {task.completed:g}/{task.total:g} {elapsed:.0f}s {info}".rstrip(),
                               highlight=False, markup=False)


def progress_bar(transient: bool = False, console: Console | None = None) -> Progress:
    return _Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
        console=console or Console(stderr=True), transient=transient,
    )
