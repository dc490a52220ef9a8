"""A company's compliance report as a printable A4 PDF, in Chinese and English (合规报告).

Pure rendering: ``render`` takes what the reads already answer (summary, open findings,
obligations, credit, licences) and returns the PDF's bytes. Chinese is set in Adobe's
standard CID font STSong-Light (UniGB-UCS2-H), which every PDF reader carries, so nothing
is embedded and text extracts as Unicode (pdftotext, pypdf, a reader's search).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN

STATUS = {"overdue": "逾期", "due_soon": "即将到期", "due_today": "今日到期", "scheduled": "计划中", "open": "进行中",
          "fulfilled_on_time": "按时履行", "fulfilled_late": "逾期履行", "waived": "已豁免", "cancelled": "已取消",
          "before_tracking": "跟踪前", "informational": "提示"}
RISK = {"critical": "严重", "high": "高", "medium": "中", "low": "低", "none": "无"}
SEVERITY = {"critical": "严重", "high": "高", "medium": "中", "advisory": "提示", "info": "信息"}
SEVERITY_COLOUR = {"critical": colors.HexColor("#b00020"), "high": colors.HexColor("#d9480f"),
                   "medium": colors.HexColor("#e6a700"), "advisory": colors.HexColor("#1c7ed6"),
                   "info": colors.grey}
RULE_COLOUR = colors.HexColor("#999999")
HEAD_FILL = colors.HexColor("#eef1f5")


def _style(name: str, size: float, **extra: Any) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=FONT, fontSize=size, leading=size * 1.35, wordWrap="CJK", **extra)


TITLE = _style("title", 18, spaceAfter=2 * mm)
H2 = _style("h2", 12.5, spaceBefore=5 * mm, spaceAfter=2 * mm, textColor=colors.HexColor("#1f3a5f"))
BODY = _style("body", 9)
SMALL = _style("small", 7.5, textColor=colors.HexColor("#555555"))
CELL = _style("cell", 8.5)
CELL_RIGHT = _style("cell-right", 8.5, alignment=TA_RIGHT)


@dataclass
class ReportData:
    """What the report shows, as the read API answers it."""

    summary: dict[str, Any]
    as_of: date
    generated_at: datetime
    findings: list[dict[str, Any]] = field(default_factory=list)  # open ones
    overdue: list[dict[str, Any]] = field(default_factory=list)
    upcoming: list[dict[str, Any]] = field(default_factory=list)  # due within the next 12 months
    credit: dict[str, Any] = field(default_factory=dict)
    licences: list[dict[str, Any]] = field(default_factory=list)


def _p(text: Any, style: ParagraphStyle = CELL) -> Paragraph:
    return Paragraph(escape("" if text is None else str(text)).replace("\n", "<br/>"), style)


def bilingual(value: Any, sep: str = " / ") -> str:
    if isinstance(value, dict):
        return sep.join(str(value[k]) for k in ("zh", "en") if value.get(k))
    return "" if value is None else str(value)


def labelled(code: str | None, names: dict[str, str]) -> str:
    return f"{names[code]} {code}" if code in names else (code or "—")


def provenance(item: dict[str, Any]) -> str:
    """Rule, source and confidence: where an item comes from and how sure it is."""
    parts = [f"规则 rule: {item.get('rule') or '—'}", f"依据 source: {bilingual(item.get('source')) or '—'}",
             f"可信度 confidence: {item.get('confidence') or '—'}"]
    return " | ".join(parts)


def evidence_lines(evidence: Any, limit: int = 600) -> str:
    if evidence in (None, {}, []):
        return ""
    if isinstance(evidence, dict):  # the events' ids are for the audit trail (the events API), not for a reader
        text = "; ".join(f"{k}: {v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
                         for k, v in evidence.items() if k != "events")
    else:
        text = evidence if isinstance(evidence, str) else json.dumps(evidence, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# One TableStyle command: (name, first cell, last cell, values...).
_Command = tuple[str, tuple[int, int], tuple[int, int], *tuple[Any, ...]]


def _grid(rows: list[list[Any]], widths: list[float], header: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style: list[_Command] = [("FONT", (0, 0), (-1, -1), FONT, 8.5), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
             ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL))
    table.setStyle(TableStyle(style))
    return table


def _licence_text(licences: list[dict[str, Any]]) -> str:
    if not licences:
        return "无记录 none recorded"
    lines = []
    for lic in licences:
        bits = [lic.get("licence_no"), lic.get("category"), lic.get("scope")]
        if lic.get("provinces"):
            bits.append("/".join(lic["provinces"]))
        if lic.get("expires_on"):
            bits.append(f"有效期至 expires {lic['expires_on']}")
        bits.append(f"状态 state: {lic.get('state', 'issued')}")
        lines.append(" | ".join(str(b) for b in bits if b))
    return "\n".join(lines)


def _summary(data: ReportData) -> list[Any]:
    s = data.summary
    credit = s.get("credit") or {}
    score = credit.get("score")
    findings = ", ".join(f"{labelled(k, SEVERITY)} {v}" for k, v in (s.get("open_findings") or {}).items() if v)
    rows: list[list[Any]] = [
        ["企业名称 Name", s.get("name") or "—"],
        ["统一社会信用代码 USCC", s.get("uscc")],
        ["许可证 Licence", _licence_text(data.licences)],
        ["风险 Risk", labelled(s.get("risk"), RISK)],
        ["未解决发现 Open findings", findings or "无 none"],
        ["逾期义务 Overdue", str(s.get("overdue", 0))],
        ["下一到期日 Next due", s.get("next_due") or "—"],
        ["信用估算 Credit estimate",
         f"{score:.0f} ({credit.get('band') or '—'})" if isinstance(score, int | float) else "无评分 no score"],
        ["评估时点 As of", data.as_of.isoformat()],
    ]
    return [_grid([[_p(k), _p(v)] for k, v in rows], [48 * mm, WIDTH - 48 * mm], header=False)]


def _findings(findings: list[dict[str, Any]]) -> list[Any]:
    if not findings:
        return [_p("没有未解决的风险发现。No open findings.", BODY)]
    out: list[Any] = []
    for f in findings:
        sev = f.get("severity")
        colour = SEVERITY_COLOUR.get(sev or "", colors.grey)
        head = (f'<font color="{colour.hexval()}">■ {escape(labelled(sev, SEVERITY))}</font>  '
                f"{escape(bilingual(f.get('title')) or f.get('rule') or '')}")
        block: list[Flowable] = [Paragraph(head, _style("finding-head", 10, spaceBefore=2 * mm))]
        if f.get("message"):
            block.append(_p(bilingual({k: str(v).strip() for k, v in f["message"].items()}, "\n")
                            if isinstance(f["message"], dict) else f["message"], BODY))
        evidence = evidence_lines(f.get("evidence"))
        if evidence:
            block.append(_p(f"证据 Evidence: {evidence}", BODY))
        opened = (f.get("opened_at") or "")[:10]
        block.append(_p(f"{provenance(f)}" + (f" | 发现于 opened {opened}" if opened else ""), SMALL))
        out.append(KeepTogether(block))
    return out


def _obligations(items: list[dict[str, Any]], empty: str) -> list[Any]:
    if not items:
        return [_p(empty, BODY)]
    rows: list[list[Any]] = [[_p("到期日 Due"), _p("义务 Obligation"), _p("状态 Status"),
                              _p("规则 | 依据 | 可信度 Rule | source | confidence")]]
    for o in items:
        what = bilingual(o.get("title")) or o.get("rule") or ""
        if o.get("about"):
            what += f"\n{o['about']}" + (f" | {o['year']}" if o.get("year") else "")
        rows.append([_p(o.get("due") or "—"), _p(what), _p(labelled(o.get("status"), STATUS)),
                     _p(f"{o.get('rule') or '—'}\n{bilingual(o.get('source')) or '—'}\n{o.get('confidence') or '—'}",
                        SMALL)])
    return [_grid(rows, [22 * mm, 64 * mm, 34 * mm, WIDTH - 120 * mm])]


def _credit(credit: dict[str, Any]) -> list[Any]:
    score = credit.get("score")
    head = (f"估算分 Score: {score:.1f}" if isinstance(score, int | float) else "无评分 No score") + \
        f" | 等级 band: {credit.get('band') or '—'} | 覆盖 coverage: {credit.get('coverage_months', 0)} 个月 months" \
        f" | {credit.get('label') or 'estimate'} 估算"
    out: list[Any] = [_p(head, BODY)]
    statement = " / ".join(x for x in (credit.get("statement_zh"), credit.get("statement_en")) if x)
    if statement:
        out.append(_p(statement, SMALL))
    components = credit.get("components") or []
    if components:
        rows: list[list[Any]] = [[_p("组成 Component"), _p("扣分 Deduction"), _p("上限 Cap"), _p("输入 Inputs")]]
        for c in components:
            name = " / ".join(str(x) for x in (c.get("zh"), c.get("en")) if x) or c.get("name")
            rows.append([_p(name), _p(c.get("deduction"), CELL_RIGHT), _p(c.get("cap"), CELL_RIGHT),
                         _p(evidence_lines(c.get("inputs"), 300), SMALL)])
        out += [Spacer(0, 2 * mm), _grid(rows, [50 * mm, 24 * mm, 16 * mm, WIDTH - 90 * mm])]
    return out


def _numbered(header: str, footer: str) -> type[Canvas]:
    """A canvas that draws the running header and footer once the page count is known."""

    class Numbered(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # reportlab's own step, as its showPage takes

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._decorate(number, total)
                super().showPage()
            super().save()

        def _decorate(self, number: int, total: int) -> None:
            width, height = A4
            self.saveState()
            self.setStrokeColor(colors.HexColor("#1f3a5f"))
            self.setLineWidth(0.6)
            self.line(MARGIN, height - 13 * mm, width - MARGIN, height - 13 * mm)
            self.line(MARGIN, 15 * mm, width - MARGIN, 15 * mm)
            self.setFont(FONT, 8)
            self.setFillColor(colors.HexColor("#333333"))
            self.drawString(MARGIN, height - 11 * mm, header)
            for line, text in enumerate(footer.split("\n")):
                self.drawString(MARGIN, (11.5 - 3.5 * line) * mm, text)
            self.drawRightString(width - MARGIN, 11.5 * mm, f"第 {number} / {total} 页 Page {number} of {total}")
            self.restoreState()

    return Numbered


def render(data: ReportData) -> bytes:
    """The report as PDF bytes (A4, 18 mm margins, a running header and numbered footer)."""
    s = data.summary
    name = s.get("name") or s.get("uscc")
    header = f"合规报告 Compliance report | {name} | {s.get('uscc')} | 评估时点 as of {data.as_of.isoformat()}"
    footer = (f"合规台账 Compliance ledger | 生成于 generated {data.generated_at.strftime('%Y-%m-%d %H:%M')} "
              "(Asia/Shanghai)\n仅供参考，不构成法律意见 For information only, not legal advice")
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=20 * mm,
                            bottomMargin=20 * mm, title=f"合规报告 {name} {data.as_of.isoformat()}",
                            author="Compliance ledger 合规台账", subject=f"{s.get('uscc')}")
    story: list[Any] = [
        _p("合规报告 Compliance report", TITLE),
        _p(f"{name}", _style("name", 14, spaceAfter=1 * mm)),
        _p(f"统一社会信用代码 USCC {s.get('uscc')} | 评估时点 as of {data.as_of.isoformat()}", SMALL),
        _p("概况 Summary", H2), *_summary(data),
        _p(f"未解决的风险发现 Open findings ({len(data.findings)})", H2), *_findings(data.findings),
        _p(f"逾期义务 Overdue obligations ({len(data.overdue)})", H2),
        *_obligations(data.overdue, "没有逾期义务。Nothing overdue."),
        _p(f"未来 12 个月的义务 Obligations due in the next 12 months ({len(data.upcoming)})", H2),
        *_obligations(data.upcoming, "未来 12 个月没有到期的义务。Nothing falls due in the next 12 months."),
        _p("信用估算 Credit estimate", H2), *_credit(data.credit),
        Spacer(0, 6 * mm),
        _p("每一项均注明其规则、依据和可信度；到期日为北京时间（Asia/Shanghai）的日期。"
           "Every item names its rule, source and confidence; due dates are dates in Asia/Shanghai.", SMALL),
    ]
    doc.build(story, canvasmaker=_numbered(header, footer))
    return buffer.getvalue()


def licences_from(events: Iterable[dict[str, Any]], as_of: date) -> list[dict[str, Any]]:
    """Each licence's latest recorded terms and state (from its ``licence.*`` facts up to ``as_of``)."""
    found: dict[str, dict[str, Any]] = {}
    ordered = sorted((e for e in events if str(e.get("type", "")).startswith("licence.")),
                     key=lambda e: (str(e.get("effectivedate", "")), e.get("sequence") or 0))
    for event in ordered:
        data = event.get("data") or {}
        number = data.get("licence_no")
        if not number or str(event.get("effectivedate", "")) > as_of.isoformat():
            continue
        kind = event["type"].split(".", 1)[1]
        entry = found.setdefault(number, {"licence_no": number, "state": "issued"})
        for key in ("category", "scope", "provinces", "issued_on", "expires_on", "authority"):
            if data.get(key) not in (None, ""):
                entry[key] = data[key]
        if kind in ("issued", "renewed", "reinstated", "suspended", "revoked", "cancelled", "refused", "applied"):
            entry["state"] = kind
    return list(found.values())
