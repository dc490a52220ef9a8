"""``ledger rebuild``'s progress bar: events replayed of LEDGER's total, then facts evaluated, with rate and
time left. The rebuild reports (from a thread of its own); only this draws, on standard error."""

from __future__ import annotations

from types import TracebackType

from ledger_projector.admin import EVALUATING, REPLAYING, SWAPPING, RebuildProgress
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

LABELS = {REPLAYING: "replaying 重放", EVALUATING: "evaluating 评估", SWAPPING: "swapping 切换"}
UNITS = {REPLAYING: "events", EVALUATING: "facts", SWAPPING: ""}


class RateColumn(ProgressColumn):
    """Items per second over rich's recent samples."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "")
        return Text(f"{speed:,.0f} {unit}/s" if speed else "", style="progress.data.speed")


class RebuildBar:
    """A rebuild's progress callback drawing one bar per phase; a no-op when ``show`` is false (not a
    terminal, or ``--json``)."""

    def __init__(self, console: Console, *, show: bool) -> None:
        self.progress = Progress(TextColumn("[bold]{task.description}[/bold]"), BarColumn(), MofNCompleteColumn(),
                                 RateColumn(), TimeRemainingColumn(), console=console, disable=not show)
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, at: RebuildProgress) -> None:
        task = self.tasks.get(at.phase)
        if task is None:
            task = self.tasks[at.phase] = self.progress.add_task(
                LABELS.get(at.phase, at.phase), total=at.total, unit=UNITS.get(at.phase, ""))
        self.progress.update(task, completed=at.done, total=at.total)

    def __enter__(self) -> RebuildBar:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.progress.stop()
