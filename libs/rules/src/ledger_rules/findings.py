"""Findings: states that are wrong, with every interval in which they held (design/rules.md §3).

Two kinds of rule, each declared where it is written (see `registry`):
- *state* rules (`@state_finding`) look at the company as of a day. They are re-evaluated on
  each day when one of their trigger families changes — a fact of that family, or a
  licence/vendor licence lapsing — so the walk is linear in the number of facts.
- *timeline* rules (`@timeline_finding`: licence-expired, renewal-late, bad-list,
  restructuring-unapproved, rectification-deadline-missing, penalties-unrectified) build their
  intervals directly from dated records and obligations: they open when a deadline passes
  with no event.

A fact-driven finding opens at 00:00 Asia/Shanghai of the day the fact happened (its
effective date), not when it was recorded: the ledger tells the world's history.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from ledger_contracts.facts import TrafficPeriodReported, WorkforceSocialInsuranceReported

from .history import RECENT_MONTHS, Dated, Event, History, Site, cny
from .instants import day_start
from .model import Finding, Interval, Obligation, build_record
from .periods import add_months
from .registry import registration, state_finding, timeline_finding
from .rule import Rule
from .ruleset import RulePack

T = TypeVar("T")

Hit = tuple[dict[str, Any], tuple[str, ...]]  # (figures for the message and evidence, event ids)
Params = Mapping[str, Any]  # a rule's parameters in the pack
StateRule = Callable[["Context", date, Params], dict[str, Hit]]
TrafficTest = Callable[[TrafficPeriodReported, Params, str | None], dict[str, Any] | None]
SiteTest = Callable[["Context", Site, date, Params], tuple[dict[str, Any], tuple[str, ...]] | None]


@dataclass(slots=True)
class Context:
    h: History
    pack: RulePack
    horizon: date
    obligations: list[Obligation]
    memo: dict[Any, Any] = field(default_factory=dict)  # per-evaluation results keyed by fact identity

    def of_rule(self, rule_id: str) -> list[Obligation]:
        """The obligations of one rule, in evaluation order (indexed once: several timeline rules ask)."""
        index = self.memo.get("obligations-by-rule")
        if index is None:
            index = self.memo["obligations-by-rule"] = {}
            for ob in self.obligations:
                index.setdefault(ob.rule, []).append(ob)
        return index.get(rule_id, [])


@lru_cache(maxsize=1 << 15)
def finding_id(company: str, rule: str, subject: str) -> str:
    return "fi_" + hashlib.sha256(f"{company}|{rule}|{subject}".encode()).hexdigest()[:16]


@lru_cache(maxsize=4096, typed=True)
def _fmt(n: float | None) -> str:
    if n is None:
        return "?"
    return f"{int(n):,}" if float(n).is_integer() else f"{n:,.2f}"


# -- state rules -------------------------------------------------------------------------------


@state_finding(
    "unlicensed-operation", "无证经营呼叫中心业务", "Unlicensed call-centre operation",
    facts=("licence.issued", "licence.renewal_refused", "licence.suspended", "licence.reinstated",
           "licence.revoked", "licence.cancelled", "outsourcing.arranged", "outsourcing.ended",
           "number.allocated", "number.activated", "number.released", "workforce.seats_declared"),
    trigger=("operates call-centre business (an activated number, declared seats > 0, or a "
             "seat-leasing arrangement) with no active B24 licence of its own; a BPO arrangement does "
             "not make the client unlicensed, seat leasing does"),
    source="电信条例 Art. 69 (3–5× illegal gains, or 100,000–1,000,000 CNY)",
    confidence="statutory", severity="critical",
    message_zh="公司在没有有效B24呼叫中心业务许可证的情况下经营呼叫中心业务（{indicators}）。",
    message_en=("The company operates call-centre business ({indicators}) without an active B24 licence "
                "of its own."),
)
def _unlicensed_operation(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
    h = ctx.h
    if h.licensed_on(day, ctx.pack.licence, operable=True):
        return {}
    signs = h.indicators_on(day)
    if not signs:
        return {}
    return {"company": ({"indicators": "；".join(s[0] for s in signs), "indicators_en": "; ".join(s[1] for s in signs),
                         "signs": [s[1] for s in signs]}, tuple(s[2] for s in signs))}


@state_finding(
    "number-without-licence", "先号码后资质", "Number without licence",
    facts=("licence.issued", "licence.suspended", "licence.revoked", "licence.cancelled", "number.allocated"),
    trigger="a number allocated while the company has no active call-centre licence (先资质后号码)",
    source="seed 004",
    confidence="advisory", severity="high",
    message_zh="号码 {number} 于 {allocated_on} 分配时公司没有有效的呼叫中心业务许可证。",
    message_en=("Number {number} was allocated on {allocated_on} while the company held no active "
                "call-centre licence."),
)
def _number_without_licence(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
    h = ctx.h
    if h.licensed_on(day, ctx.pack.licence):
        return {}
    out: dict[str, Hit] = {}
    for n in h.numbers_held(day):
        if not h.licensed_on(n.allocated.on, ctx.pack.licence):
            out[f"number:{n.number}"] = ({"number": n.number, "allocated_on": n.allocated.on.isoformat()}, (n.allocated.id,))
    return out


@state_finding(
    "coverage-mismatch", "超出许可覆盖范围", "Outside licensed coverage",
    facts=("licence.issued", "outsourcing.arranged", "number.allocated", "site.leased", "site.vacated"),
    trigger="a provincial licence, and numbers, sites or seat-leasing provinces outside its province",
    source="电信条例 Art. 9, seed 001",
    confidence="statutory", severity="high",
    message_zh="{item} 位于省份 {province}，超出省内许可证覆盖范围（{covered}）。",
    message_en="{item} is in province {province}, outside the provincial licence coverage ({covered}).",
)
def _coverage_mismatch(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
    h = ctx.h
    active = h.licensed_on(day, ctx.pack.licence)
    if not active or any(lic.scope != "provincial" for lic in active):
        return {}
    covered = sorted({pr for lic in active for pr in lic.provinces})
    lic_ids = tuple(lic.issued.id for lic in active)
    out: dict[str, Hit] = {}

    def hit(subject: str, item_zh: str, item_en: str, province: str | None, ev_id: str) -> None:
        if province and province not in covered:
            out[subject] = ({"item": item_zh, "item_en": item_en, "province": province, "covered": ",".join(covered),
                             "licences": [lic.no for lic in active]}, (ev_id, *lic_ids))

    for n in h.numbers_held(day):
        hit(f"number:{n.number}", f"号码{n.number}", f"number {n.number}", n.province, n.allocated.id)
    for s in h.sites.values():
        if s.held_on(day):
            hit(f"site:{s.ref}", f"场地{s.ref}", f"site {s.ref}", s.province, s.leased.id)
    for a in h.arrangements.values():
        if a.mode == "seat_leasing" and a.active_on(day):
            for pr in a.provinces_served:
                hit(f"seat-leasing:{a.vendor_uscc}:{pr}", f"租用座席（{a.vendor_uscc}）", f"leased seats ({a.vendor_uscc})",
                    pr, a.arranged.id)
    return out


def _capital(ctx: Context, day: date) -> tuple[float, str] | None:
    """(registered capital, id of the fact that set it) as of ``day``."""
    capital: tuple[float, str] | None = ctx.h.capital.as_of(day)
    return capital


@state_finding(
    "capital-below-threshold", "注册资本不足", "Registered capital below threshold",
    facts=("company.registered", "company.registration_changed", "licence.issued"),
    trigger=("registered capital below 10,000,000 (nationwide) or 1,000,000 (provincial); paid-in is "
             "not required"),
    source="Order 42 Art. 6",
    confidence="statutory", severity="high",
    message_zh="许可证 {licence_no}（{scope}）要求注册资本不低于 {threshold} 元，当前为 {capital} 元。",
    message_en=("Licence {licence_no} ({scope}) needs registered capital of at least {threshold} CNY; it "
                "is {capital} CNY."),
    note="Seed 004 says the capital must be paid in: advisory only, not raised.",
    nationwide=10_000_000, provincial=1_000_000,
)
def _capital_below_threshold(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
    known = _capital(ctx, day)
    if known is None:
        return {}
    capital, cap_ev = known
    out: dict[str, Hit] = {}
    for lic in ctx.h.licences.values():
        if lic.scope not in ("nationwide", "provincial") or not lic.active_on(day):
            continue
        threshold = p[lic.scope]
        if capital < threshold:
            out[f"licence:{lic.no}"] = ({"licence_no": lic.no, "scope": lic.scope, "threshold": _fmt(threshold),
                                         "capital": _fmt(capital)}, (cap_ev, lic.issued.id))
    return out


def _latest(dated: Dated[T], day: date) -> T | None:
    return dated.as_of(day)


@state_finding(
    "seat-inflation", "座席虚报", "Seat inflation",
    facts=("workforce.social_insurance_reported", "workforce.seats_declared"),
    trigger=("declared seats exceed insured headcount by more than a tolerance (seed 002: 500 seats "
             "against 180 insured)"),
    source="seed 002",
    confidence="advisory", severity="advisory",
    message_zh="申报座席 {declared_seats} 个，社保参保 {insured_headcount} 人，超出容差 {tolerance_pct}%。",
    message_en=("Declared seats ({declared_seats}) exceed insured headcount ({insured_headcount}) by "
                "more than {tolerance_pct}%."),
    note="The 10% tolerance is our default; no source states one.",
    tolerance=0.1,
)
def _seat_inflation(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
    seats, ins = _latest(ctx.h.seats, day), _latest(ctx.h.insurance, day)
    if seats is None or ins is None:
        return {}
    declared, insured = seats.data.declared_seats, ins.data.insured_headcount
    if declared <= insured * (1 + p["tolerance"]):
        return {}
    return {"company": ({"declared_seats": declared, "insured_headcount": insured,
                         "tolerance_pct": _fmt(p["tolerance"] * 100)}, (seats.id, ins.id))}


@state_finding(
    "three-way-mismatch", "三一致不符", "Three-way mismatch",
    facts=("workforce.three_way_check_recorded",),
    trigger=("a recorded quarterly three-way check whose actual seats, system-registered seats and "
             "insured headcount differ by more than 5% (the check is the evidence; declared seats "
             "against insured headcount is seat-inflation's)"),
    source="seeds 002/003",
    confidence="advisory", severity="advisory",
    message_zh=("{quarter} 三一致核查：实际座席 {actual_seats}、系统注册 {system_registered_seats}、参保 "
                "{insured_headcount}，差异 {spread_pct}%。"),
    message_en=("{quarter} three-way check: actual {actual_seats}, system-registered "
                "{system_registered_seats}, insured {insured_headcount} differ by {spread_pct}%."),
    tolerance=0.05,
)
def _three_way_mismatch(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
    check = _latest(ctx.h.three_way, day)
    if check is None:
        return {}
    c = check.data
    figures = [c.actual_seats, c.system_registered_seats, c.insured_headcount]
    if max(figures) <= 0:
        return {}
    spread = (max(figures) - min(figures)) / max(figures)
    if spread <= p["tolerance"]:
        return {}
    return {"company": ({"quarter": c.quarter,
                         "actual_seats": figures[0], "system_registered_seats": figures[1],
                         "insured_headcount": figures[2], "spread_pct": _fmt(round(spread * 100, 1)),
                         "explanation": c.explanation}, (check.id,))}


@state_finding(
    "social-insurance-thin", "社保人员不足", "Thin social insurance",
    facts=("workforce.social_insurance_reported",),
    trigger=("fewer than 3 insured staff in any of the last 3 reported months, or a contribution base "
             "under 60% of the local average wage"),
    source="seed 003",
    confidence="advisory", severity="advisory",
    message_zh="近{months}个月社保：{detail_zh}。",
    message_en="Social insurance in the last {months} reported months: {detail_en}.",
    min_insured=3, months=3, min_base_ratio=0.6,
)
def _social_insurance_thin(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
    if p["months"] <= RECENT_MONTHS:
        snapshot = ctx.h.insurance_recent.as_of(day) or ()
        recent = [ev for _, ev in snapshot[-p["months"]:]] if p["months"] else []
    else:
        reports: dict[str, Event[WorkforceSocialInsuranceReported]] = {}
        for ev in ctx.h.insurance.upto(day):
            reports[ev.data.month] = ev
        recent = [reports[m] for m in sorted(reports)[-p["months"]:]]
    zh, en, ids = [], [], []
    memo = ctx.memo
    for ev in recent:
        # one report's verdict depends only on that report and the parameters: each month's report is
        # looked at again on every later workforce day, so it is judged once per evaluation
        key = ("social-insurance-thin", id(ev), id(p))
        parts = memo.get(key)
        if parts is None:
            parts = memo[key] = _insurance_report_parts(ev, p)
        for z, e in parts:
            zh.append(z)
            en.append(e)
            ids.append(ev.id)
    if not zh:
        return {}
    return {"company": ({"months": p["months"], "detail_zh": "；".join(zh), "detail_en": "; ".join(en)},
                        tuple(dict.fromkeys(ids)))}


def _insurance_report_parts(ev: Event[WorkforceSocialInsuranceReported], p: Params) -> tuple[tuple[str, str], ...]:
    """What is thin about one monthly social-insurance report: (zh, en) per problem."""
    out = []
    month, insured = ev.data.month, ev.data.insured_headcount
    base, wage = float(ev.data.min_contribution_base), float(ev.data.local_average_wage)
    if insured < p["min_insured"]:
        out.append((f"{month}参保{insured}人（少于{p['min_insured']}人）",
                    f"{month}: {insured} insured (under {p['min_insured']})"))
    if wage and base < p["min_base_ratio"] * wage:
        out.append((f"{month}缴费基数{_fmt(base)}低于平均工资{_fmt(wage)}的{_fmt(p['min_base_ratio'] * 100)}%",
                    f"{month}: contribution base {_fmt(base)} under {_fmt(p['min_base_ratio'] * 100)}% of the average wage {_fmt(wage)}"))
    return tuple(out)


def _latest_traffic(ctx: Context, day: date) -> tuple[str, Event[TrafficPeriodReported]] | None:
    """The report of the latest month known on `day` (a re-submitted month replaces the earlier one)."""
    return ctx.h.traffic_latest.as_of(day)


def _traffic_rule(test: TrafficTest) -> StateRule:
    def rule(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
        latest = _latest_traffic(ctx, day)
        if latest is None:
            return {}
        month, ev = latest
        figures = test(ev.data, p, ctx.h.industry.as_of(day))
        if figures is None:
            return {}
        return {"company": ({"month": month, **figures}, (ev.id,))}

    return rule


@state_finding(
    "revenue-settlement-mismatch", "95号码收入与结算不符", "95 revenue below carrier settlement",
    facts=("traffic.period_reported",),
    trigger="95-number revenue under 80% of the carrier settlement in the latest reported month",
    source="seed 002",
    confidence="advisory", severity="advisory",
    message_zh="{month} 95号码收入 {revenue_95} 元，低于运营商结算 {carrier_settlement_95} 元的 {min_ratio_pct}%。",
    message_en=("{month}: 95 revenue {revenue_95} CNY is under {min_ratio_pct}% of the carrier "
                "settlement {carrier_settlement_95} CNY."),
    min_ratio=0.8,
)
@_traffic_rule
def _revenue(d: TrafficPeriodReported, p: Params, _: str | None) -> dict[str, Any] | None:
    if d.revenue_95 is None or not d.carrier_settlement_95:
        return None
    rev, settle = cny(d.revenue_95), cny(d.carrier_settlement_95)
    if rev >= p["min_ratio"] * settle:
        return None
    return {"revenue_95": _fmt(rev), "carrier_settlement_95": _fmt(settle), "min_ratio_pct": _fmt(p["min_ratio"] * 100)}


@state_finding(
    "9x-number-capital", "95/96号码注册资本不足", "95/96 number with low capital",
    facts=("company.registered", "company.registration_changed", "number.allocated", "number.released"),
    trigger="a 95/96 number held with registered capital under 100,000,000",
    source="seed 004",
    confidence="advisory", severity="advisory",
    message_zh="持有 {number}，注册资本 {capital} 元低于 {min_capital} 元。",
    message_en="Holds {number} with registered capital {capital} CNY, under {min_capital} CNY.",
    kinds=("95", "96"), min_capital=100_000_000,
)
def _nine_x_capital(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
    known = _capital(ctx, day)
    if known is None or known[0] >= p["min_capital"]:
        return {}
    capital, cap_ev = known
    return {f"number:{n.number}": ({"number": n.number, "capital": _fmt(capital), "min_capital": _fmt(p["min_capital"])},
                                   (n.allocated.id, cap_ev))
            for n in ctx.h.numbers_held(day) if n.kind in p["kinds"]}


@state_finding(
    "fixed-number-quota", "固话号码超配", "Fixed-line numbers over quota",
    facts=("number.allocated", "number.released", "workforce.seats_declared"),
    trigger="more than 10 fixed-line numbers per 10 seats",
    source="seed 004",
    confidence="advisory", severity="advisory",
    message_zh="持有固话号码 {fixed_numbers} 个，座席 {seats} 个，超过每10个座席 {max_per_10_seats} 个号码。",
    message_en=("{fixed_numbers} fixed-line numbers for {seats} seats: more than {max_per_10_seats} per "
                "10 seats."),
    max_per_10_seats=10,
)
def _fixed_number_quota(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
    seats_ev = ctx.h.seats.as_of(day)
    if seats_ev is None:
        return {}
    seats = seats_ev.data.declared_seats
    fixed = [n for n in ctx.h.numbers_held(day) if n.kind == "fixed"]
    if len(fixed) <= seats * p["max_per_10_seats"] / 10:
        return {}
    return {"company": ({"fixed_numbers": len(fixed), "seats": seats, "max_per_10_seats": p["max_per_10_seats"]},
                        (seats_ev.id, *(n.allocated.id for n in fixed)))}


def _sites_where(test: SiteTest) -> StateRule:
    def rule(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
        out = {}
        for s in ctx.h.sites.values():
            if s.held_on(day) and (figures := test(ctx, s, day, p)) is not None:
                out[f"site:{s.ref}"] = ({"site_ref": s.ref, **figures[0]}, (s.leased.id, *figures[1]))
        return out

    return rule


@state_finding(
    "premises-purpose", "租赁用途不含呼叫中心", "Lease purpose lacks 呼叫中心",
    facts=("site.leased",),
    trigger="a lease whose stated purpose lacks 呼叫中心",
    source="seed 003",
    confidence="advisory", severity="advisory",
    message_zh="场地 {site_ref} 租赁用途“{purpose_text}”未包含“{required_text}”。",
    message_en="Site {site_ref}: the lease purpose '{purpose_text}' lacks '{required_text}'.",
    required_text="呼叫中心",
)
@_sites_where
def _purpose(ctx: Context, s: Site, day: date, p: Params) -> tuple[dict[str, Any], tuple[str, ...]] | None:
    if p["required_text"] in s.purpose_text:
        return None
    return {"purpose_text": s.purpose_text, "required_text": p["required_text"]}, ()


@state_finding(
    "sublease-without-consent", "转租未获产权方同意", "Sublease without owner consent",
    facts=("site.leased",),
    trigger="a sublease without the owner's consent",
    source="seed 003",
    confidence="advisory", severity="advisory",
    message_zh="场地 {site_ref} 为转租，未取得产权方同意。",
    message_en="Site {site_ref} is sublet without the owner's consent.",
)
@_sites_where
def _sublease(ctx: Context, s: Site, day: date, p: Params) -> tuple[dict[str, Any], tuple[str, ...]] | None:
    if s.sublease and not s.owner_consent:
        return {"owner_consent": s.owner_consent}, ()
    return None


@state_finding(
    "lease-shorter-than-licence", "租期短于许可证有效期", "Lease shorter than licence",
    facts=("licence.issued", "licence.renewed", "site.leased", "site.lease_renewed", "site.vacated"),
    trigger="the lease ends before the licence expires",
    source="seed 003",
    confidence="advisory", severity="advisory",
    message_zh="场地 {site_ref} 租期至 {lease_end}，早于许可证 {licence_no} 到期日 {expires_on}。",
    message_en=("Site {site_ref}: the lease ends {lease_end}, before licence {licence_no} expires on "
                "{expires_on}."),
)
@_sites_where
def _lease_short(ctx: Context, s: Site, day: date, p: Params) -> tuple[dict[str, Any], tuple[str, ...]] | None:
    end = s.lease_end_as_of(day)
    active = [lic for lic in ctx.h.licensed_on(day, ctx.pack.licence)]
    if not active:
        return None
    lic = max(active, key=lambda x: (x.expiry_as_of(day), x.no))
    expiry = lic.expiry_as_of(day)
    if end >= expiry:
        return None
    renewal = [ev.id for ev, new in s.renewals if ev.on <= day]
    return {"lease_end": end.isoformat(), "licence_no": lic.no, "expires_on": expiry.isoformat()}, (lic.issued.id, *renewal)


@state_finding(
    "premises-area", "场地面积不足", "Premises area too small",
    facts=("licence.issued", "site.leased", "site.vacated"),
    trigger="a nationwide licensee whose sites total under 100 m²",
    source="seed 004",
    confidence="advisory", severity="advisory",
    message_zh="全网许可证持有人场地合计 {area_m2} 平方米，低于 {min_area_m2} 平方米。",
    message_en="Nationwide licensee's sites total {area_m2} m², under {min_area_m2} m².",
    min_area_m2=100,
)
def _premises_area(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
    if not any(lic.scope == "nationwide" for lic in ctx.h.licensed_on(day, ctx.pack.licence)):
        return {}
    sites = [(s.leased.id, s.area_m2) for s in ctx.h.sites.values() if s.held_on(day)]
    if not sites:
        return {}
    total = sum(area for _, area in sites)
    if total >= p["min_area_m2"]:
        return {}
    return {"company": ({"area_m2": _fmt(total), "min_area_m2": _fmt(p["min_area_m2"])}, tuple(ev_id for ev_id, _ in sites))}


@state_finding(
    "mlps-missing", "未做等保备案", "No MLPS filing",
    facts=("facility.mlps_filed", "facility.mlps_assessed", "licence.issued", "number.activated",
           "workforce.seats_declared", "outsourcing.arranged"),
    trigger="operating with no 等保 filing",
    source="网络安全法 Art. 21, seed 003",
    confidence="statutory", severity="medium",
    message_zh="公司在经营呼叫中心业务，但没有等级保护备案记录。",
    message_en="The company operates call-centre business with no MLPS (等保) filing recorded.",
)
def _mlps_missing(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
    h = ctx.h
    if any(ev.on <= day for s in h.systems.values() for ev, _ in s.filings):
        return {}
    if not h.operating_on(day, ctx.pack.licence):
        return {}
    ids = tuple(lic.issued.id for lic in h.licensed_on(day, ctx.pack.licence)) + tuple(s[2] for s in h.indicators_on(day))
    return {"company": ({}, ids)}


@state_finding(
    "ai-outbound-unfiled", "AI外呼未做算法备案", "AI outbound without algorithm filing",
    facts=("company.capabilities_declared",),
    trigger="AI / synthesised-voice outbound declared with no algorithm filing number",
    source="seeds 002/003/004",
    confidence="advisory", severity="medium",
    message_zh="已声明AI/合成语音外呼，但没有算法备案号。",
    message_en="AI / synthesised-voice outbound is declared with no algorithm filing number.",
)
def _ai_outbound(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
    cap = ctx.h.capabilities.as_of(day)
    if cap is None or not cap.data.ai_outbound or cap.data.algorithm_filing_no:
        return {}
    return {"company": ({}, (cap.id,))}


@state_finding(
    "cross-border-unfiled", "数据出境未备案", "Cross-border without data-export filing",
    facts=("company.capabilities_declared", "workforce.seats_declared"),
    trigger="overseas seats or data leaving China with no data-export filing",
    source="个人信息保护法 Art. 38, seed 003",
    confidence="statutory", severity="medium",
    message_zh="存在{what_zh}，但没有数据出境备案编号。",
    message_en="{what_en} with no data-export filing number.",
)
def _cross_border(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
    cap, seats = ctx.h.capabilities.as_of(day), ctx.h.seats.as_of(day)
    if cap is not None and cap.data.data_export_filing_no:
        return {}
    zh, en, ids = [], [], []
    if cap is not None and cap.data.cross_border:
        zh.append("数据出境")
        en.append("Data leaves China")
        ids.append(cap.id)
    overseas = seats.data.overseas_seats if seats is not None else None
    if seats is not None and seats.data.overseas_seats > 0:
        zh.append(f"境外座席{overseas}个")
        en.append(f"{overseas} overseas seats")
        ids.append(seats.id)
    if not zh:
        return {}
    return {"company": ({"what_zh": "、".join(zh), "what_en": " and ".join(en), "overseas_seats": overseas}, tuple(ids))}


@state_finding(
    "recording-retention-short", "录音留存不足", "Recordings kept too briefly",
    facts=("traffic.period_reported",),
    trigger="recordings kept fewer than 30 days, or no consent records",
    source="MIIT 2020 notice on call-centre business",
    confidence="notice", severity="medium",
    message_zh="{month}：{detail_zh}。",
    message_en="{month}: {detail_en}.",
    min_days=30,
)
@_traffic_rule
def _retention(d: TrafficPeriodReported, p: Params, _: str | None) -> dict[str, Any] | None:
    days, consent = d.recordings_retained_days, d.consent_records
    zh, en = [], []
    if days < p["min_days"]:
        zh.append(f"录音仅保存{days}天（少于{p['min_days']}天）")
        en.append(f"recordings kept {days} days (under {p['min_days']})")
    if not consent:
        zh.append("没有用户同意记录")
        en.append("no consent records")
    return {"detail_zh": "，".join(zh), "detail_en": "; ".join(en), "recordings_retained_days": days} if zh else None


@state_finding(
    "marketing-outbound", "未经同意的营销外呼", "Marketing calls without consent",
    facts=("traffic.period_reported",),
    trigger="outbound commercial marketing calls reported without consent records",
    source="MIIT 2020 notice",
    confidence="notice", severity="medium",
    message_zh="{month} 报告营销外呼 {outbound_marketing_calls} 次，但没有用户同意记录。",
    message_en=("{month}: {outbound_marketing_calls} outbound marketing calls reported without consent "
                "records."),
)
@_traffic_rule
def _marketing(d: TrafficPeriodReported, p: Params, _: str | None) -> dict[str, Any] | None:
    calls = d.outbound_marketing_calls
    if calls <= 0 or d.consent_records:
        return None
    return {"outbound_marketing_calls": calls}


@state_finding(
    "calling-hours", "外呼时段越界", "Calls outside allowed hours",
    facts=("traffic.period_reported",),
    trigger="outbound calls reported outside 08:00–21:00 (collections: 22:00–08:00 is never allowed)",
    source="seeds 002/004",
    confidence="advisory", severity="advisory",
    message_zh="{month} 有 {calls_outside_hours} 次外呼在 {allowed_from}–{allowed_until} 以外。",
    message_en="{month}: {calls_outside_hours} outbound calls outside {allowed_from}–{allowed_until}.",
    note="The 2020 MIIT notice only says to avoid rest time; the hours are agency practice.",
    allowed_from="08:00", allowed_until="21:00",
)
@_traffic_rule
def _hours(d: TrafficPeriodReported, p: Params, _: str | None) -> dict[str, Any] | None:
    calls = d.calls_outside_hours
    if calls <= 0:
        return None
    return {"calls_outside_hours": calls, "allowed_from": p["allowed_from"], "allowed_until": p["allowed_until"]}


@state_finding(
    "education-holiday-calls", "教育类节假日营销外呼", "Education marketing calls on rest days",
    facts=("company.registered", "traffic.period_reported"),
    trigger="an education company's marketing calls on statutory rest days",
    source="seed 004",
    confidence="advisory", severity="advisory",
    message_zh="{month} 教育类公司在法定休息日营销外呼 {marketing_calls_on_rest_days} 次。",
    message_en=("{month}: the education company made {marketing_calls_on_rest_days} marketing calls on "
                "rest days."),
    industries=("education",),
)
@_traffic_rule
def _education(d: TrafficPeriodReported, p: Params, industry: str | None) -> dict[str, Any] | None:
    calls = d.marketing_calls_on_rest_days
    if industry not in p["industries"] or calls <= 0:
        return None
    return {"marketing_calls_on_rest_days": calls, "industry": industry}


@state_finding(
    "vendor-licence-invalid", "外包服务商资质无效", "BPO vendor licence invalid",
    facts=("outsourcing.arranged", "outsourcing.vendor_verified", "outsourcing.ended"),
    trigger=("a BPO vendor whose recorded licence is expired, cancelled, not B24, issued to another "
             "name or USCC, or not covering the served provinces"),
    source="seed 000",
    confidence="advisory", severity="high",
    message_zh="外包服务商 {vendor_name}（{vendor_uscc}）资质问题：{reasons_zh}。",
    message_en="BPO vendor {vendor_name} ({vendor_uscc}): {reasons_en}.",
)
def _vendor_licence_invalid(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
    ok_categories = set(ctx.pack.licence["call_centre_categories"])
    out = {}
    for a in ctx.h.arrangements.values():
        if a.mode != "bpo" or not a.active_on(day):
            continue
        zh, en, ids = [], [], [a.arranged.id]
        if a.licence_category is not None and a.licence_category not in ok_categories:
            zh.append(f"许可证类别为{a.licence_category}而非B24")
            en.append(f"licence category {a.licence_category}, not B24")
        if a.licence_expires_on is not None and a.licence_expires_on < day:
            zh.append(f"许可证已于{a.licence_expires_on}到期")
            en.append(f"licence expired on {a.licence_expires_on}")
        v = next((x for x in reversed(a.verifications) if x.on <= day), None)
        if v is not None:
            c = v.data
            checks = ((c.name_matches, "许可证主体名称不符", "licence issued to another name"),
                      (c.uscc_matches, "统一社会信用代码不符", "licence issued to another USCC"),
                      (c.category_ok, "业务类别不是B24", "category is not B24"),
                      (c.status_valid, "许可证已注销或无效", "licence cancelled or not valid"),
                      (c.coverage_ok, "覆盖范围不含服务省份", "licence does not cover the served provinces"))
            failed = [(z, e) for ok, z, e in checks if not ok]
            if failed:
                ids.append(v.id)
                zh += [z for z, _ in failed]
                en += [e for _, e in failed]
        if len(ids) > 1 or zh:
            out[f"vendor:{a.vendor_uscc}"] = ({"vendor_name": a.vendor_name, "vendor_uscc": a.vendor_uscc,
                                               "reasons_zh": "；".join(zh), "reasons_en": "; ".join(en)}, tuple(ids))
    return out


@state_finding(
    "category-mislabel", "业务类别标注错误", "Licence category mislabel",
    facts=("licence.issued",),
    trigger=("call-centre operations under a licence recorded as B21 (online data processing; call "
             "centre is B24)"),
    source="2015 电信业务分类目录; seed 001",
    confidence="notice", severity="info",
    message_zh="许可证 {licence_no} 记录为 {category}，呼叫中心业务属于B24（B21为在线数据处理与交易处理）。请核对；若确为B21，则呼叫中心业务无证。",
    message_en=("Licence {licence_no} is recorded as {category}; call-centre business is B24 (B21 is "
                "online data processing). Check it: if it really is B21, the call-centre operation is "
                "unlicensed."),
)
def _category_mislabel(ctx: Context, day: date, p: Params) -> dict[str, Hit]:
    wrong = set(ctx.pack.licence["mislabel_categories"])
    return {f"licence:{lic.no}": ({"licence_no": lic.no, "category": lic.category}, (lic.issued.id,))
            for lic in ctx.h.licences.values() if lic.category in wrong and lic.active_on(day)}


@dataclass(slots=True)
class _Track:
    """A finding being built: its intervals and the latest figures."""

    intervals: list[list[Any]] = field(default_factory=list)  # [opened_day, resolved_day, resolved_by]
    figures: dict[str, Any] = field(default_factory=dict)
    events: tuple[str, ...] = ()

    def open(self, day: date, figures: dict[str, Any], events: tuple[str, ...]) -> None:
        if not self.intervals or self.intervals[-1][1] is not None:
            self.intervals.append([day, None, None])
        self.figures, self.events = figures, events

    def close(self, day: date, by: str | None) -> None:
        if self.intervals and self.intervals[-1][1] is None:
            if day <= self.intervals[-1][0]:
                self.intervals.pop()
            else:
                self.intervals[-1][1:] = [day, by]

    @property
    def is_open(self) -> bool:
        return bool(self.intervals) and self.intervals[-1][1] is None


def _walk_state_rules(ctx: Context, tracks: dict[tuple[str, str], _Track], only: Collection[str] | None) -> None:
    h = ctx.h
    rules = [(r, reg.reads, reg.fn) for r in ctx.pack.finding_rules()
             if r.enabled and (reg := registration(r.id)).mode == "state" and (only is None or r.id in only)]
    time_slices: dict[date, set[str]] = {}
    for lic in h.licences.values():
        for d in lic.time_points():
            time_slices.setdefault(d, set()).add("licence")
    for a in h.arrangements.values():
        if a.licence_expires_on is not None:
            time_slices.setdefault(a.licence_expires_on + timedelta(days=1), set()).add("outsourcing")
    open_by_rule: dict[str, set[str]] = {r.id: set() for r, _, _ in rules}
    by_slice: dict[str, list[int]] = {}
    for i, (_, slices, _) in enumerate(rules):
        for s in slices:
            by_slice.setdefault(s, []).append(i)
    # which rules a set of dirty slices wakes, in pack order: the same few sets recur every day
    woken: dict[frozenset[str], list[tuple[str, tuple[str, ...], StateRule, Params]]] = {}
    last_event_on = h.last_event_on
    empty: frozenset[str] = frozenset()
    for day in sorted(d for d in set(h.slices_on) | set(time_slices) if d <= ctx.horizon):
        dirty = frozenset(h.slices_on.get(day, empty) | time_slices.get(day, empty))
        todo = woken.get(dirty)
        if todo is None:
            todo = woken[dirty] = [(rules[i][0].id, tuple(sorted(rules[i][1])), rules[i][2], rules[i][0].params)
                                   for i in sorted({i for s in dirty for i in by_slice.get(s, ())})]
        for rule_id, reads, fn, params in todo:
            hits = fn(ctx, day, params)
            current = open_by_rule[rule_id]
            if current:
                for subject in current - hits.keys():
                    by = next((last_event_on[(day, s)] for s in reads if (day, s) in last_event_on), None)
                    tracks[(rule_id, subject)].close(day, by)
            if hits:
                for subject, (figures, events) in hits.items():
                    track = tracks.get((rule_id, subject))
                    if track is None:
                        track = tracks[(rule_id, subject)] = _Track()
                    track.open(day, figures, events)
                open_by_rule[rule_id] = set(hits)
            elif current:
                open_by_rule[rule_id] = set()


# -- timeline rules ----------------------------------------------------------------------------


@timeline_finding(
    "licence-expired", "许可证已过期", "Licence expired",
    facts=("licence.issued", "licence.renewal_applied", "licence.renewed", "licence.renewal_refused",
           "licence.suspended", "licence.revoked", "licence.cancelled"),
    trigger="an expiry passed with no renewal and no pending application",
    source="Order 42 Art. 27",
    confidence="statutory", severity="critical",
    message_zh="许可证 {licence_no} 已于 {expires_on} 到期，未续期也无待决的续期申请。",
    message_en="Licence {licence_no} expired on {expires_on} with no renewal and no pending application.",
)
def _licence_expired(ctx: Context, rule: Rule) -> Iterator[tuple[str, _Track]]:
    for lic in ctx.h.licences.values():
        days = {d for d in lic.time_points()}
        days |= {r.on for r in lic.refusals} | {ev.on for ev, _ in lic.renewals}
        if lic.ended is not None:
            days.add(lic.ended.on)
        track = _Track()
        for day in sorted(d for d in days if d <= ctx.horizon):
            expiry = lic.expiry_as_of(day)
            ended = lic.ended is not None and lic.ended.on <= day
            lapsed = day > expiry and not ended and not lic.active_on(day) and day >= lic.start
            if lapsed and not track.is_open:
                track.open(day, {"licence_no": lic.no, "expires_on": expiry.isoformat()}, (lic.issued.id,))
            elif not lapsed and track.is_open:
                by = next((ev.id for ev, _ in lic.renewals if ev.on == day), None)
                by = by or (lic.ended.id if lic.ended is not None and lic.ended.on == day else None)
                track.close(day, by)
        if track.intervals:
            yield f"licence:{lic.no}", track


@timeline_finding(
    "renewal-late", "续期申请逾期", "Renewal applied late",
    facts=("licence.renewal_applied",),
    trigger="no renewal application by E − 90 days (opens the next day), or one made after it",
    source="Order 42 Art. 27",
    confidence="statutory", severity="high",
    message_zh="许可证 {licence_no} 应不迟于 {latest_day} 提出续期申请（到期日 {expires_on}），{state}。",
    message_en="Licence {licence_no} had to be renewed by {latest_day} (expiry {expires_on}); {state_en}.",
)
def _renewal_late(ctx: Context, rule: Rule) -> Iterator[tuple[str, _Track]]:
    for ob in ctx.of_rule("renewal"):
        if ob.waived_on is not None or ob.before_tracking:
            continue  # a renewal due before the onboarding baseline is attested history (rules.md §5)
        opened = ob.legal_due + timedelta(days=1)
        if opened > ctx.horizon or (ob.fulfilled_on is not None and ob.fulfilled_on <= ob.legal_due):
            continue
        if ob.cancelled_on is not None and ob.cancelled_on <= opened:
            continue
        lic = ctx.h.licences[ob.about]
        expiry = date.fromisoformat(ob.params["expires_on"])
        applied = ob.fulfilled_on
        figures = {"licence_no": lic.no, "latest_day": ob.legal_due.isoformat(), "expires_on": expiry.isoformat(),
                   "state": f"实际于{applied}申请" if applied else "尚未申请",
                   "state_en": f"it was applied for late, on {applied}" if applied else "no application yet",
                   "applied_on": applied.isoformat() if applied else None}
        track = _Track()
        track.open(opened, figures, tuple(x for x in (ob.created_by, ob.fulfilled_by) if x))
        decided: list[tuple[date, str | None]] = [(ev.on, ev.id) for ev, new in lic.renewals
                                                  if ev.on >= opened and new > expiry]
        decided += [(r.on, r.id) for r in lic.refusals if r.on >= opened]
        if lic.ended is not None:
            decided.append((lic.ended.on, lic.ended.id))
        after_expiry = expiry + timedelta(days=1)
        if lic.pending_application(expiry, after_expiry) is None:
            decided.append((after_expiry, None))  # superseded by licence-expired (or renewed in time)
        close = min((d for d in decided if d[0] >= opened), default=None, key=lambda x: x[0])
        if close is not None and close[0] <= ctx.horizon:
            track.close(close[0], close[1])
        if track.intervals:
            yield f"licence:{lic.no}:expiry:{expiry}", track


@timeline_finding(
    "restructuring-unapproved", "重大变更未获批先实施", "Restructuring completed before approval",
    facts=("company.restructuring_decided", "company.restructuring_approved",
           "company.restructuring_completed"),
    trigger="a restructuring completed before its approval",
    source="Order 42 Art. 28",
    confidence="statutory", severity="high",
    message_zh="重大事项 {ref}（{kind}）已于 {completed_on} 完成，但尚未获得批准。",
    message_en="Restructuring {ref} ({kind}) was completed on {completed_on} before its approval.",
)
def _restructuring_unapproved(ctx: Context, rule: Rule) -> Iterator[tuple[str, _Track]]:
    for r in ctx.h.restructurings.values():
        if r.completed is None or r.completed.on > ctx.horizon:
            continue
        if r.approved is not None and r.approved.on <= r.completed.on:
            continue
        track = _Track()
        track.open(r.completed.on, {"ref": r.ref, "kind": r.kind or "?", "completed_on": r.completed.on.isoformat()},
                   tuple(e.id for e in (r.decided, r.completed) if e))
        if r.approved is not None and r.approved.on <= ctx.horizon:
            track.close(r.approved.on, r.approved.id)
        if track.intervals:
            yield f"restructuring:{r.ref}", track


@timeline_finding(
    "bad-list", "不良名单", "Bad list",
    facts=("company.tracking_started", "licence.annual_report_submitted", "licence.annual_report_returned",
           "licence.annual_report_accepted", "listing.listed", "listing.removed"),
    trigger="a listing recorded, or an annual report still missing after the make-up month",
    source="Order 42 Art. 38, 42",
    confidence="statutory", severity="high",
    message_zh="{reason_zh}",
    message_en="{reason_en}",
    lists=("bad", "dishonest", "abnormal"),
)
def _bad_list(ctx: Context, rule: Rule) -> Iterator[tuple[str, _Track]]:
    for kind in rule.params["lists"]:
        lst = ctx.h.listings.get(kind)
        if lst is None:
            continue
        track = _Track()
        for listed, removed in lst.periods:
            if listed.on > ctx.horizon:
                continue
            notice = lst.notices[listed.id]
            reason, authority = notice.reason, notice.authority
            names = {"bad": ("不良名单", "bad list"), "dishonest": ("失信名单", "dishonest list"),
                     "abnormal": ("经营异常名录", "abnormal-operation list")}.get(kind, (kind, kind))
            track.open(listed.on, {"list": kind, "reason_zh": f"已被{authority}列入{names[0]}：{reason}",
                                   "reason_en": f"Listed on the {names[1]} by {authority or 'the authority'}: {reason}"},
                       (listed.id,))
            if removed is not None and removed.on <= ctx.horizon:
                track.close(removed.on, removed.id)
        if track.intervals:
            yield f"listing:{kind}", track
    for ob in ctx.of_rule("annual-report"):
        if ob.before_tracking:
            continue  # due before the onboarding baseline: attested history, no finding from its absence (§5)
        makeup = date.fromisoformat(ob.params["makeup_due"])
        opened = makeup + timedelta(days=1)
        if opened > ctx.horizon or (ob.fulfilled_on is not None and ob.fulfilled_on <= makeup):
            continue
        if any(d is not None and d <= opened for d in (ob.waived_on, ob.cancelled_on)):
            continue
        closes = [(d, by) for d, by in ((ob.fulfilled_on, ob.fulfilled_by), (ob.waived_on, ob.waived_by),
                                        (ob.cancelled_on, ob.cancelled_by)) if d is not None]
        track = _Track()
        track.open(opened, {"licence_no": ob.about, "year": ob.year, "makeup_closes": makeup.isoformat(),
                            "reason_zh": f"许可证 {ob.about} 的{ob.year}年度年报在补报期（至{makeup}）结束后仍未提交，将被列入不良名单。",
                            "reason_en": f"The {ob.year} annual report for licence {ob.about} was still missing after the "
                                         f"make-up month ended on {makeup}: listing on the 不良名单 follows."},
                   (ob.created_by,))
        close = min(closes, default=None, key=lambda x: x[0])
        if close is not None and close[0] <= ctx.horizon:
            track.close(close[0], close[1])
        if track.intervals:
            yield f"annual-report:{ob.about}:{ob.year}", track


@timeline_finding(
    "rectification-deadline-missing", "缺少整改期限", "Rectification deadline missing",
    facts=("penalty.imposed", "penalty.rectification_deadline_recorded", "penalty.revoked"),
    trigger="a penalty orders correction but no deadline is recorded (we never invent one)",
    source="行政处罚法 Art. 28",
    confidence="statutory", severity="medium",
    message_zh="处罚决定 {decision_no} 责令改正，但未记录整改期限，请补录决定书载明的期限。",
    message_en=("Penalty {decision_no} orders correction but no deadline is recorded: record the date "
                "set in the decision."),
)
def _rectification_deadline_missing(ctx: Context, rule: Rule) -> Iterator[tuple[str, _Track]]:
    for pen in ctx.h.penalties.values():
        if not pen.orders_rectification or (pen.rectification_due is not None and pen.deadline_recorded is None):
            continue
        if pen.imposed.on > ctx.horizon:
            continue
        track = _Track()
        track.open(pen.imposed.on, {"decision_no": pen.decision_no}, (pen.imposed.id,))
        ends = [e for e in (pen.deadline_recorded, pen.rectification_submitted, pen.rectification_accepted, pen.revoked)
                if e is not None and e.on <= ctx.horizon]
        if ends:
            first = min(ends, key=lambda e: (e.on, e.id))
            track.close(first.on, first.id)
        if track.intervals:
            yield f"penalty:{pen.decision_no}", track


@timeline_finding(
    "penalties-unrectified", "处罚未整改", "Penalty without rectification report",
    facts=("penalty.imposed", "penalty.rectification_submitted", "penalty.rectification_accepted",
           "penalty.revoked"),
    trigger=("when the annual-report window opens: a penalty of the last 3 years whose decision "
             "ordered rectification (orders_rectification) without a rectification report"),
    source="seed 002",
    confidence="advisory", severity="advisory",
    message_zh="年报窗口开启（{window_opens}）时，近{lookback_years}年的处罚 {decision_no}（{decided_on}）尚无整改报告。",
    message_en=("When the annual-report window opened ({window_opens}), penalty {decision_no} "
                "({decided_on}) of the last {lookback_years} years had no rectification report."),
    lookback_years=3,
)
def _penalties_unrectified(ctx: Context, rule: Rule) -> Iterator[tuple[str, _Track]]:
    openings = sorted({ob.window_opens for ob in ctx.of_rule("annual-report") if ob.window_opens})
    openings = [d for d in openings if d <= ctx.horizon]
    years = rule.params["lookback_years"]
    for pen in ctx.h.penalties.values():
        if not pen.orders_rectification:
            continue  # nothing to rectify: only a decision that ordered correction awaits a report (§6)
        rectified = min((e for e in (pen.rectification_submitted, pen.rectification_accepted) if e),
                        default=None, key=lambda e: e.on)
        track = _Track()
        for w in openings:
            qualifies = add_months(w, -12 * years) <= pen.decided_on <= w and pen.imposed.on <= w
            done = [e for e in (rectified, pen.revoked) if e is not None and e.on <= w]
            if qualifies and not done and not track.is_open:
                track.open(w, {"decision_no": pen.decision_no, "decided_on": pen.decided_on.isoformat(),
                               "window_opens": w.isoformat(), "lookback_years": years}, (pen.imposed.id,))
            elif track.is_open and not qualifies:
                track.close(w, None)
            if track.is_open:
                later = [e for e in (rectified, pen.revoked) if e is not None and e.on > w]
                nxt = next((x for x in openings if x > w), None)
                first = min(later, default=None, key=lambda e: e.on)
                if first is not None and first.on <= ctx.horizon and (nxt is None or first.on <= nxt):
                    track.close(first.on, first.id)
        if track.intervals:
            yield f"penalty:{pen.decision_no}", track


def derive(ctx: Context, only: Collection[str] | None = None) -> list[Finding]:
    """The company's findings, in (rule, subject) order; `only`: those of these rules."""
    tracks: dict[tuple[str, str], _Track] = {}
    _walk_state_rules(ctx, tracks, only)
    for rule in ctx.pack.finding_rules():
        if rule.enabled and (reg := registration(rule.id)).mode == "timeline" and (only is None or rule.id in only):
            for subject, track in reg.fn(ctx, rule):
                tracks[(rule.id, subject)] = track
    company = ctx.h.company
    out = []
    for (rule_id, subject), track in sorted(tracks.items()):
        if not track.intervals:
            continue
        rule = ctx.pack.rule(rule_id)
        out.append(_freeze(company, rule, subject, track))
    return out


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def _freeze(company: str, rule: Rule, subject: str, track: _Track) -> Finding:
    figures = _Blank(track.figures)
    return build_record(Finding, dict(
        id=finding_id(company, rule.id, subject),
        company=company,
        rule=rule.id,
        subject=subject,
        title_zh=rule.title_zh,
        title_en=rule.title_en,
        severity=rule.severity,
        message_zh=rule.message_zh.format_map(figures),
        message_en=rule.message_en.format_map(_Blank({**track.figures, "indicators": track.figures.get("indicators_en", "?")})
                                              if "indicators_en" in track.figures else figures),
        evidence={"events": list(track.events), **{k: v for k, v in track.figures.items() if not k.endswith(("_zh", "_en"))}},
        source=rule.source,
        confidence=rule.confidence,
        params=rule.params,
        intervals=tuple(Interval(day_start(o), day_start(r) if r else None, by) for o, r, by in track.intervals),
    ))
