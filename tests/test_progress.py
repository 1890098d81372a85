"""Long jobs stay watchable when stderr is a log file: the bar becomes plain lines there."""

import io

from rich.console import Console

from ponder.progress import progress_bar


def _run(console: Console, total: int, transient: bool) -> str:
    with progress_bar(transient=transient, console=console) as bar:
        task = bar.add_task("eval", total=total, info="")
        for i in range(total):
            bar.update(task, advance=1, info=f"cell {i}")
    return console.file.getvalue()


def test_without_a_terminal_every_twentieth_of_the_job_is_a_line():
    lines = [ln for ln in _run(Console(file=io.StringIO()), 400, transient=True).splitlines() if ln.strip()]
    assert len(lines) == 20 and lines[0].startswith("eval 20/400 ") and lines[0].endswith(" cell 19")
    assert lines[-1].startswith("eval 400/400 ")
    short = [ln for ln in _run(Console(file=io.StringIO()), 3, transient=True).splitlines() if ln.strip()]
    assert [ln.split()[1] for ln in short] == ["1/3", "2/3", "3/3"]


def test_a_terminal_gets_the_bar_not_the_lines():
    out = _run(Console(file=io.StringIO(), force_terminal=True), 20, transient=False)
    assert "eval 1/20 " not in out and "20/20" in out
