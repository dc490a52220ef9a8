"""The company page's time axis (时间轴), laid out as plain geometry for an inline SVG.

Pure: facts and obligations in, positions out; the template draws them. Facts are dots on one row;
each obligation is a bar from ``window_opens`` to ``due`` (a diamond at ``due`` when it has no window),
put in the first lane where it does not overlap another; today (and ``as_of``, when another day) is a
vertical line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

WIDTH = 1000
LEFT, RIGHT = 8, 8
AXIS_Y = 34
FACT_Y = 52
LANE_TOP = 70
LANE_HEIGHT = 14
MAX_LANES = 14

STATUS_CLASS = {
    "overdue": "st-overdue", "due_soon": "st-due-soon", "due_today": "st-due-soon", "open": "st-open",
    "scheduled": "st-scheduled", "fulfilled_on_time": "st-done", "fulfilled_late": "st-late",
    "waived": "st-muted", "cancelled": "st-muted", "before_tracking": "st-muted",
}


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Dot:
    x: float
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    y: float
    css: str
    label: str
    anchor: str
    marker: bool  # True: a due date without a window, drawn as a diamond


@dataclass
class Plot:
    start: date
    end: date
    height: float
    ticks: list[Tick] = field(default_factory=list)
    facts: list[Dot] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    today_x: float | None = None
    as_of_x: float | None = None
    hidden: int = 0  # obligations outside the shown span


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _title(item: dict[str, Any]) -> str:
    if item.get("title_zh"):
        return f"{item['title_zh']} {item.get('title_en') or ''}".strip()
    title = item.get("title")
    if isinstance(title, dict):
        return f"{title.get('zh', '')} {title.get('en', '')}".strip()
    return str(title or item.get("rule") or "")


def span_for(anchor: date, show_all: bool, days: list[date]) -> tuple[date, date]:
    """The shown span: two years back to one year ahead of the day looked at, or everything recorded."""
    if show_all and days:
        return min(min(days), anchor) - timedelta(days=30), max(max(days), anchor) + timedelta(days=30)
    return anchor - timedelta(days=730), anchor + timedelta(days=365)


def plot(facts: list[dict[str, Any]], obligations: list[dict[str, Any]], today: date, as_of: date | None = None,
         *, show_all: bool = False) -> Plot:
    fact_days = [(d, f) for f in facts if (d := _day(f.get("date")))]
    dues = [(_day(o.get("window_opens")), _day(o.get("due")), o) for o in obligations]
    every_day = [d for d, _ in fact_days] + [d for w, due, _ in dues for d in (w, due) if d]
    start, end = span_for(as_of or today, show_all, every_day)
    total = max((end - start).days, 1)

    def x(d: date) -> float:
        clipped = min(max(d, start), end)
        return LEFT + (WIDTH - LEFT - RIGHT) * (clipped - start).days / total

    out = Plot(start=start, end=end, height=LANE_TOP)
    for year in range(start.year, end.year + 1):
        for month in (1, 7) if total < 4 * 366 else (1,):
            tick = date(year, month, 1)
            if start <= tick <= end:
                out.ticks.append(Tick(x(tick), f"{year}" if month == 1 else f"{year}-07"))
    out.facts = [Dot(x(d), f"{d.isoformat()} {f.get('type', '')}") for d, f in fact_days if start <= d <= end]
    lanes: list[float] = []  # right edge of the last bar in each lane
    for opens, due, item in sorted(dues, key=lambda t: (t[0] or t[1] or end, t[1] or end)):
        if due is None:
            continue
        first = opens if opens and opens < due else due
        if due < start or first > end:
            out.hidden += 1
            continue
        left, right = x(first), x(due)
        marker = first == due
        if marker:
            left, right = right - 4, right + 4
        lane = next((i for i, edge in enumerate(lanes) if edge + 2 <= left), None)
        if lane is None:
            if len(lanes) < MAX_LANES:
                lanes.append(right)
                lane = len(lanes) - 1
            else:
                lane = min(range(len(lanes)), key=lanes.__getitem__)
        lanes[lane] = max(lanes[lane], right)
        status = str(item.get("status") or "")
        label = f"{_title(item)} · {item.get('about') or ''} · {status} · due {due.isoformat()}"
        out.bars.append(Bar(left, max(right - left, 3.0), LANE_TOP + lane * LANE_HEIGHT,
                            STATUS_CLASS.get(status, "st-open"), label, f"ob-{item.get('id', '')}", marker))
    out.height = LANE_TOP + max(len(lanes), 1) * LANE_HEIGHT + 8
    if start <= today <= end:
        out.today_x = x(today)
    if as_of is not None and as_of != today and start <= as_of <= end:
        out.as_of_x = x(as_of)
    return out
