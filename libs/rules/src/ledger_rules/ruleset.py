"""Every rule of the pack, as data: ids, titles, parameters, sources, confidence.

This is the one place that says *what* the rules are (design/rules.md §0–§4); the
modules `obligations`, `findings` and `credit` say *how* each is computed. A tenant
changes parameters with `RulePack.with_overrides`; every computed obligation and
finding carries the parameter values it used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

SEVERITIES = ("critical", "high", "medium", "advisory", "info")
CONFIDENCES = ("statutory", "notice", "advisory", "estimate")
DEFAULT_LADDER = (30, 14, 7, 3, 1, 0, -1, -7, -14)  # days before due; 0 = the day; <0 = overdue
NUMBER_KINDS = ("fixed", "400", "95", "96", "virtual", "other")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str  # "obligation" | "finding"
    title_zh: str
    title_en: str
    trigger: str  # when it applies (one line, for people)
    outcome: str  # obligations: the due date; findings: what is wrong
    source: str
    confidence: str
    params: Mapping[str, Any]
    fulfilled_by: str = ""
    informational: bool = False
    message_zh: str = ""
    message_en: str = ""
    note: str = ""  # what the seeds claimed and why we differ, or our own choice

    @property
    def enabled(self) -> bool:
        return bool(self.params.get("enabled", True))

    @property
    def severity(self) -> str:
        return self.params["severity"]


def _o(id: str, title_zh: str, title_en: str, trigger: str, outcome: str, fulfilled_by: str, source: str,
       confidence: str, severity: str, informational: bool = False, note: str = "",
       reminders: Iterable[int] = DEFAULT_LADDER, **params: Any) -> Rule:
    base = {"enabled": True, "severity": severity, "reminders": () if informational else tuple(reminders)}
    return Rule(id, "obligation", title_zh, title_en, trigger, outcome, source, confidence,
                MappingProxyType({**base, **params}), fulfilled_by, informational, note=note)


def _f(id: str, title_zh: str, title_en: str, trigger: str, source: str, confidence: str, severity: str,
       message_zh: str, message_en: str, note: str = "", **params: Any) -> Rule:
    return Rule(id, "finding", title_zh, title_en, trigger, trigger, source, confidence,
                MappingProxyType({"enabled": True, "severity": severity, **params}),
                message_zh=message_zh, message_en=message_en, note=note)


OBLIGATION_RULES: tuple[Rule, ...] = (
    _o("change-filing", "许可证变更（名称、法定代表人、注册资本）", "Licence change filing (name, legal representative, capital)",
       "company name, legal representative or registered capital changed at business registration, while holding an active licence",
       "30 days after the registration change", "a licence change filing covering that change",
       "Order 42 Art. 29", "statutory", "high", days=30, roll="next",
       fields=("name", "legal_representative", "registered_capital")),
    _o("change-filing-scope", "许可证变更（经营范围、注册地址）", "Licence change filing (business scope, registered address)",
       "business scope or registered address changed, while licensed", "30 days after the change",
       "a licence change filing covering that change", "seeds 001/004", "advisory", "advisory",
       days=30, roll="next", fields=("business_scope", "registered_address")),
    _o("restructuring-approval", "重大事项变更审批（合并、分立、股权变更、业务转移、覆盖范围）",
       "Restructuring approval (merger, split, shareholders, transfer, coverage)",
       "the company decided a merger, split, shareholder change, transfer of operations or coverage change, while licensed",
       "apply within 30 days of the decision, and before it takes effect", "approval recorded",
       "Order 42 Art. 28", "statutory", "high", days=30, roll="next",
       kinds=("merger", "split", "shareholder_change", "transfer_of_operations", "coverage_change")),
    _o("renewal", "许可证续期申请", "Licence renewal application",
       "each active licence with expiry E", "apply no later than E − 90 days (rest day: previous working day, the safe deadline); preparation opens at E − 180 days",
       "renewal application recorded (or the renewal itself)", "Order 42 Art. 27", "statutory", "critical",
       note="Seed 004 reads 提前90日 as 'within the 90 days before expiry': contradicted. Applying late means the licence "
            "may not be renewed; an application pending and undecided at E keeps the licence alive (行政许可法 Art. 50).",
       days_before_expiry=90, window_days_before_expiry=180, roll="previous"),
    _o("annual-report", "许可证年报", "Licence annual report",
       "each licence held in year Y−1 and still held when the window opens on 1 January of Y (the obligation's year is "
       "Y−1, the year reported on); a licence that lapsed or was cancelled during Y−1 owes none: Order 42 Art. 35 binds "
       "operators holding a licence when they report",
       "window 1 Jan – 31 Mar of Y (Art. 203 roll); April is a make-up month; listing on the 不良名单 follows in May",
       "annual report submitted for Y−1", "Order 42 Art. 35, Art. 38; make-up month: 工信部信管〔2017〕321号 and provincial notices",
       "statutory", "high",
       note="Seed 003's 1 Mar – 31 May 17:00 window, 20-day correction and 16 Jul – 31 Aug inspections: contradicted or "
            "unsupported. Authorities announce exact dates each year: override `windows` per window year, or per "
            "'year/authority' (e.g. \"2025/重庆市通信管理局\": {\"opens\": \"2025-01-10\"}).",
       opens="01-01", closes="03-31", makeup_closes="04-30", roll="next", windows=MappingProxyType({})),
    _o("annual-report-prep", "年报准备节点", "Annual report preparation milestones",
       "each annual report", "milestones 90, 60, 30 and 7 days before the window closes (rest day: previous working day)",
       "each milestone acknowledged, or the report submitted", "seed 003", "advisory", "advisory", reminders=(),
       note="Milestones: evidence (等保 assessment, seat photos, social insurance, contracts); audit report, traffic "
            "records, tax certificates; independent cross-check; sign-off and upload. Reminders fire on each milestone.",
       milestone_days=(90, 60, 30, 7), roll="previous"),
    _o("number-annual-report", "码号年报", "Numbering annual report",
       "the company holds code numbers at year end", "31 Mar of the next year (Art. 203 roll)",
       "number annual report submitted", "provincial notices (Jilin 2024, Sichuan 2026)", "notice", "medium",
       closes="03-31", roll="next", kinds=NUMBER_KINDS),
    _o("number-filing", "码号备案", "Number filing", "a number allocated", "30 days after allocation",
       "filing recorded", "seed 004", "advisory", "advisory", note="The regulation reviewed does not state 30 days.",
       days=30, roll="next"),
    _o("number-activation-report", "码号启用报告", "Number activation report", "a number opened (activated)",
       "10 days after opening", "activation reported", "96-number approval example (Qinghai 96885)", "notice", "medium",
       days=10, roll="next"),
    _o("number-contact-change", "码号联系信息变更告知", "Number contact change notice",
       "registered address or contact changed while holding numbers", "10 working days after the change, per number",
       "notice to the number authority recorded", "电信网码号资源管理办法 Art. 26", "statutory", "high",
       working_days=10, fields=("registered_address", "contact")),
    _o("number-fee", "码号资源占用费", "Number occupancy fee",
       "holding a number on the first day of a quarter (a fee whose window opened before the number was released "
       "stays, cancelled by the release)", "the 10th of Jan, Apr, Jul, Oct (Art. 203 roll)",
       "fee paid for that quarter", "MIIT 2021 notice (reported)", "notice", "medium",
       note="The fee for the quarter of allocation is settled at allocation and not tracked.",
       day_of_month=10, roll="next", kinds=NUMBER_KINDS),
    _o("fine-payment", "罚款缴纳", "Fine payment", "a penalty with a fine",
       "15 days after the decision was received", "payment recorded (the full amount)", "行政处罚法 Art. 67",
       "statutory", "high", days=15, roll="next"),
    _o("rectification", "整改报告", "Rectification", "a penalty that orders correction",
       "the date set in the decision (never a default: without one, finding rectification-deadline-missing)",
       "rectification report submitted (acceptance closes it)", "行政处罚法 Art. 28", "statutory", "high", roll="none"),
    _o("bad-list-watch", "不良名单关注", "Bad-list watch", "a penalty imposed",
       "informational: listing expected within 30 days of the decision", "— (a recorded listing confirms it)",
       "Order 42 Art. 42", "statutory", "info", informational=True, days=30, roll="none"),
    _o("lease-renewal", "场地租约续签", "Lease renewal", "a site lease ending on L",
       "reminders from L − 90 days, due L", "lease renewed or site vacated", "seed 003", "advisory", "advisory",
       reminders=(90, 60, 30, 14, 7, 3, 1, 0, -1, -7, -14), window_days=90, roll="none"),
    _o("mlps-assessment", "等保测评", "MLPS assessment", "a level-3 (或以上) 等保 system",
       "12 months after the last assessment (or the filing, if none)", "assessment recorded",
       "等级保护 practice", "notice", "medium", months=12, min_level=3, roll="next"),
    _o("three-way-check", "三一致核查", "Three-way check", "every quarter while operating",
       "quarter end: compare actual seats, system-registered seats and insured headcount", "check recorded",
       "seed 003", "advisory", "advisory", roll="next"),
    _o("emergency-plan", "应急预案更新", "Emergency plan update", "every 6 months while operating",
       "6 months after the last update (or operating start)", "plan update recorded", "seed 003", "advisory",
       "advisory", months=6, roll="next"),
    _o("vendor-reverification", "外包服务商资质复核", "Vendor re-verification", "a BPO arrangement",
       "before the vendor's licence expires, and at least every 12 months", "vendor verification recorded",
       "seed 000", "advisory", "advisory", months=12, roll="previous"),
    _o("licence-decision", "许可审批结果", "Licence decision", "a licence applied for",
       "informational: decision expected within 60 days", "licence issued or refused",
       "电信条例 Art. 14", "statutory", "info", informational=True,
       note="Seed 004 says 40–60 working days; the regulation says 60 days.", days=60, roll="next"),
)

FINDING_RULES: tuple[Rule, ...] = (
    _f("unlicensed-operation", "无证经营呼叫中心业务", "Unlicensed call-centre operation",
       "operates call-centre business (an activated number, declared seats > 0, or a seat-leasing arrangement) with no "
       "active B24 licence of its own; a BPO arrangement does not make the client unlicensed, seat leasing does",
       "电信条例 Art. 69 (3–5× illegal gains, or 100,000–1,000,000 CNY)", "statutory", "critical",
       "公司在没有有效B24呼叫中心业务许可证的情况下经营呼叫中心业务（{indicators}）。",
       "The company operates call-centre business ({indicators}) without an active B24 licence of its own."),
    _f("number-without-licence", "先号码后资质", "Number without licence",
       "a number allocated while the company has no active call-centre licence (先资质后号码)", "seed 004",
       "advisory", "high",
       "号码 {number} 于 {allocated_on} 分配时公司没有有效的呼叫中心业务许可证。",
       "Number {number} was allocated on {allocated_on} while the company held no active call-centre licence."),
    _f("coverage-mismatch", "超出许可覆盖范围", "Outside licensed coverage",
       "a provincial licence, and numbers, sites or seat-leasing provinces outside its province",
       "电信条例 Art. 9, seed 001", "statutory", "high",
       "{item} 位于省份 {province}，超出省内许可证覆盖范围（{covered}）。",
       "{item} is in province {province}, outside the provincial licence coverage ({covered})."),
    _f("capital-below-threshold", "注册资本不足", "Registered capital below threshold",
       "registered capital below 10,000,000 (nationwide) or 1,000,000 (provincial); paid-in is not required",
       "Order 42 Art. 6", "statutory", "high",
       "许可证 {licence_no}（{scope}）要求注册资本不低于 {threshold} 元，当前为 {capital} 元。",
       "Licence {licence_no} ({scope}) needs registered capital of at least {threshold} CNY; it is {capital} CNY.",
       note="Seed 004 says the capital must be paid in: advisory only, not raised.",
       nationwide=10_000_000, provincial=1_000_000),
    _f("licence-expired", "许可证已过期", "Licence expired",
       "an expiry passed with no renewal and no pending application", "Order 42 Art. 27", "statutory", "critical",
       "许可证 {licence_no} 已于 {expires_on} 到期，未续期也无待决的续期申请。",
       "Licence {licence_no} expired on {expires_on} with no renewal and no pending application."),
    _f("renewal-late", "续期申请逾期", "Renewal applied late",
       "no renewal application by E − 90 days (opens the next day), or one made after it",
       "Order 42 Art. 27", "statutory", "high",
       "许可证 {licence_no} 应不迟于 {latest_day} 提出续期申请（到期日 {expires_on}），{state}。",
       "Licence {licence_no} had to be renewed by {latest_day} (expiry {expires_on}); {state_en}."),
    _f("restructuring-unapproved", "重大变更未获批先实施", "Restructuring completed before approval",
       "a restructuring completed before its approval", "Order 42 Art. 28", "statutory", "high",
       "重大事项 {ref}（{kind}）已于 {completed_on} 完成，但尚未获得批准。",
       "Restructuring {ref} ({kind}) was completed on {completed_on} before its approval."),
    _f("bad-list", "不良名单", "Bad list",
       "a listing recorded, or an annual report still missing after the make-up month", "Order 42 Art. 38, 42",
       "statutory", "high",
       "{reason_zh}", "{reason_en}", lists=("bad", "dishonest", "abnormal")),
    _f("rectification-deadline-missing", "缺少整改期限", "Rectification deadline missing",
       "a penalty orders correction but no deadline is recorded (we never invent one)", "行政处罚法 Art. 28",
       "statutory", "medium",
       "处罚决定 {decision_no} 责令改正，但未记录整改期限，请补录决定书载明的期限。",
       "Penalty {decision_no} orders correction but no deadline is recorded: record the date set in the decision."),
    _f("penalties-unrectified", "处罚未整改", "Penalty without rectification report",
       "when the annual-report window opens: a penalty of the last 3 years whose decision ordered rectification "
       "(orders_rectification) without a rectification report",
       "seed 002", "advisory", "advisory",
       "年报窗口开启（{window_opens}）时，近{lookback_years}年的处罚 {decision_no}（{decided_on}）尚无整改报告。",
       "When the annual-report window opened ({window_opens}), penalty {decision_no} ({decided_on}) of the last "
       "{lookback_years} years had no rectification report.", lookback_years=3),
    _f("seat-inflation", "座席虚报", "Seat inflation",
       "declared seats exceed insured headcount by more than a tolerance (seed 002: 500 seats against 180 insured)",
       "seed 002", "advisory", "advisory",
       "申报座席 {declared_seats} 个，社保参保 {insured_headcount} 人，超出容差 {tolerance_pct}%。",
       "Declared seats ({declared_seats}) exceed insured headcount ({insured_headcount}) by more than {tolerance_pct}%.",
       note="The 10% tolerance is our default; no source states one.", tolerance=0.10),
    _f("three-way-mismatch", "三一致不符", "Three-way mismatch",
       "a recorded quarterly three-way check whose actual seats, system-registered seats and insured headcount differ "
       "by more than 5% (the check is the evidence; declared seats against insured headcount is seat-inflation's)",
       "seeds 002/003",
       "advisory", "advisory",
       "{quarter} 三一致核查：实际座席 {actual_seats}、系统注册 {system_registered_seats}、参保 {insured_headcount}，差异 {spread_pct}%。",
       "{quarter} three-way check: actual {actual_seats}, system-registered {system_registered_seats}, insured "
       "{insured_headcount} differ by {spread_pct}%.", tolerance=0.05),
    _f("social-insurance-thin", "社保人员不足", "Thin social insurance",
       "fewer than 3 insured staff in any of the last 3 reported months, or a contribution base under 60% of the local average wage",
       "seed 003", "advisory", "advisory",
       "近{months}个月社保：{detail_zh}。", "Social insurance in the last {months} reported months: {detail_en}.",
       min_insured=3, months=3, min_base_ratio=0.6),
    _f("revenue-settlement-mismatch", "95号码收入与结算不符", "95 revenue below carrier settlement",
       "95-number revenue under 80% of the carrier settlement in the latest reported month", "seed 002", "advisory",
       "advisory",
       "{month} 95号码收入 {revenue_95} 元，低于运营商结算 {carrier_settlement_95} 元的 {min_ratio_pct}%。",
       "{month}: 95 revenue {revenue_95} CNY is under {min_ratio_pct}% of the carrier settlement {carrier_settlement_95} CNY.",
       min_ratio=0.8),
    _f("9x-number-capital", "95/96号码注册资本不足", "95/96 number with low capital",
       "a 95/96 number held with registered capital under 100,000,000", "seed 004", "advisory", "advisory",
       "持有 {number}，注册资本 {capital} 元低于 {min_capital} 元。",
       "Holds {number} with registered capital {capital} CNY, under {min_capital} CNY.",
       kinds=("95", "96"), min_capital=100_000_000),
    _f("fixed-number-quota", "固话号码超配", "Fixed-line numbers over quota",
       "more than 10 fixed-line numbers per 10 seats", "seed 004", "advisory", "advisory",
       "持有固话号码 {fixed_numbers} 个，座席 {seats} 个，超过每10个座席 {max_per_10_seats} 个号码。",
       "{fixed_numbers} fixed-line numbers for {seats} seats: more than {max_per_10_seats} per 10 seats.",
       max_per_10_seats=10),
    _f("premises-purpose", "租赁用途不含呼叫中心", "Lease purpose lacks 呼叫中心",
       "a lease whose stated purpose lacks 呼叫中心", "seed 003", "advisory", "advisory",
       "场地 {site_ref} 租赁用途“{purpose_text}”未包含“{required_text}”。",
       "Site {site_ref}: the lease purpose '{purpose_text}' lacks '{required_text}'.", required_text="呼叫中心"),
    _f("sublease-without-consent", "转租未获产权方同意", "Sublease without owner consent",
       "a sublease without the owner's consent", "seed 003", "advisory", "advisory",
       "场地 {site_ref} 为转租，未取得产权方同意。", "Site {site_ref} is sublet without the owner's consent."),
    _f("lease-shorter-than-licence", "租期短于许可证有效期", "Lease shorter than licence",
       "the lease ends before the licence expires", "seed 003", "advisory", "advisory",
       "场地 {site_ref} 租期至 {lease_end}，早于许可证 {licence_no} 到期日 {expires_on}。",
       "Site {site_ref}: the lease ends {lease_end}, before licence {licence_no} expires on {expires_on}."),
    _f("premises-area", "场地面积不足", "Premises area too small",
       "a nationwide licensee whose sites total under 100 m²", "seed 004", "advisory", "advisory",
       "全网许可证持有人场地合计 {area_m2} 平方米，低于 {min_area_m2} 平方米。",
       "Nationwide licensee's sites total {area_m2} m², under {min_area_m2} m².", min_area_m2=100),
    _f("mlps-missing", "未做等保备案", "No MLPS filing",
       "operating with no 等保 filing", "网络安全法 Art. 21, seed 003", "statutory", "medium",
       "公司在经营呼叫中心业务，但没有等级保护备案记录。",
       "The company operates call-centre business with no MLPS (等保) filing recorded."),
    _f("ai-outbound-unfiled", "AI外呼未做算法备案", "AI outbound without algorithm filing",
       "AI / synthesised-voice outbound declared with no algorithm filing number", "seeds 002/003/004", "advisory",
       "medium", "已声明AI/合成语音外呼，但没有算法备案号。",
       "AI / synthesised-voice outbound is declared with no algorithm filing number."),
    _f("cross-border-unfiled", "数据出境未备案", "Cross-border without data-export filing",
       "overseas seats or data leaving China with no data-export filing", "个人信息保护法 Art. 38, seed 003",
       "statutory", "medium", "存在{what_zh}，但没有数据出境备案编号。",
       "{what_en} with no data-export filing number."),
    _f("recording-retention-short", "录音留存不足", "Recordings kept too briefly",
       "recordings kept fewer than 30 days, or no consent records", "MIIT 2020 notice on call-centre business",
       "notice", "medium", "{month}：{detail_zh}。", "{month}: {detail_en}.", min_days=30),
    _f("marketing-outbound", "未经同意的营销外呼", "Marketing calls without consent",
       "outbound commercial marketing calls reported without consent records", "MIIT 2020 notice", "notice", "medium",
       "{month} 报告营销外呼 {outbound_marketing_calls} 次，但没有用户同意记录。",
       "{month}: {outbound_marketing_calls} outbound marketing calls reported without consent records."),
    _f("calling-hours", "外呼时段越界", "Calls outside allowed hours",
       "outbound calls reported outside 08:00–21:00 (collections: 22:00–08:00 is never allowed)", "seeds 002/004",
       "advisory", "advisory",
       "{month} 有 {calls_outside_hours} 次外呼在 {allowed_from}–{allowed_until} 以外。",
       "{month}: {calls_outside_hours} outbound calls outside {allowed_from}–{allowed_until}.",
       note="The 2020 MIIT notice only says to avoid rest time; the hours are agency practice.",
       allowed_from="08:00", allowed_until="21:00"),
    _f("education-holiday-calls", "教育类节假日营销外呼", "Education marketing calls on rest days",
       "an education company's marketing calls on statutory rest days", "seed 004", "advisory", "advisory",
       "{month} 教育类公司在法定休息日营销外呼 {marketing_calls_on_rest_days} 次。",
       "{month}: the education company made {marketing_calls_on_rest_days} marketing calls on rest days.",
       industries=("education",)),
    _f("vendor-licence-invalid", "外包服务商资质无效", "BPO vendor licence invalid",
       "a BPO vendor whose recorded licence is expired, cancelled, not B24, issued to another name or USCC, or not "
       "covering the served provinces", "seed 000", "advisory", "high",
       "外包服务商 {vendor_name}（{vendor_uscc}）资质问题：{reasons_zh}。",
       "BPO vendor {vendor_name} ({vendor_uscc}): {reasons_en}."),
    _f("category-mislabel", "业务类别标注错误", "Licence category mislabel",
       "call-centre operations under a licence recorded as B21 (online data processing; call centre is B24)",
       "2015 电信业务分类目录; seed 001", "notice", "info",
       "许可证 {licence_no} 记录为 {category}，呼叫中心业务属于B24（B21为在线数据处理与交易处理）。请核对；若确为B21，则呼叫中心业务无证。",
       "Licence {licence_no} is recorded as {category}; call-centre business is B24 (B21 is online data "
       "processing). Check it: if it really is B21, the call-centre operation is unlicensed."),
)

LICENCE_FACTS = MappingProxyType({
    # §0: the call-centre licence and how to read a recorded category
    "call_centre_categories": ("B24", "B24-1", "B24-2"),
    "mislabel_categories": ("B21",),  # treated as the call-centre licence, with an info finding
    "validity_years": 5,  # used when a licence is recorded without expires_on
})

CREDIT = MappingProxyType({
    "window_months": 12,
    "min_coverage_months": 1,  # fewer months with traffic data: no score, a statement instead
    "complaints": MappingProxyType({"per_complaint_per_10k_calls": 3, "cap": 30}),
    "spot_checks": MappingProxyType({"per_failure_rate": 100, "cap": 30}),
    "critical_findings": MappingProxyType({"each": 10, "cap": 30}),
    "high_findings": MappingProxyType({"each": 5, "cap": 20}),
    # only these confidences deduct; the others are shown as overdue_advisory_obligations (rules.md §6)
    "overdue_obligations": MappingProxyType({"each": 5, "cap": 20, "confidences": ("statutory", "notice")}),
    "overdue_advisory_obligations": MappingProxyType({"each": 0, "cap": 0}),
    "penalties": MappingProxyType({"each": 5, "cap": 20}),
    "listings": MappingProxyType({"deduction": 20, "lists": ("bad", "dishonest")}),
    "bands": MappingProxyType({"good": 90, "watch": 80}),
    "alert": MappingProxyType({"below": 80, "drop": 10}),
})

ALERTS = MappingProxyType({
    # one decision pass making at least this many obligations of a company overdue (facts about the past)
    # sends one company.backlog digest instead of an obligation.overdue each; 0 turns the digest off
    "backlog_threshold": 3,
})


@dataclass(frozen=True)
class RulePack:
    """All rules with their parameters; immutable, cheap to share across companies."""

    rules: Mapping[str, Rule]
    due_soon_days: int = 30
    horizon_days: int = 731  # periodic obligations are generated this far past the latest fact
    licence: Mapping[str, Any] = field(default_factory=lambda: LICENCE_FACTS)
    credit: Mapping[str, Any] = field(default_factory=lambda: CREDIT)
    alerts: Mapping[str, Any] = field(default_factory=lambda: ALERTS)

    @classmethod
    def default(cls) -> RulePack:
        return _DEFAULT

    def rule(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def params(self, rule_id: str) -> Mapping[str, Any]:
        return self.rules[rule_id].params

    def enabled(self, rule_id: str) -> bool:
        return self.rules[rule_id].enabled

    def obligation_rules(self) -> list[Rule]:
        return [r for r in self.rules.values() if r.kind == "obligation"]

    def finding_rules(self) -> list[Rule]:
        return [r for r in self.rules.values() if r.kind == "finding"]

    def with_overrides(self, overrides: Mapping[str, Any]) -> RulePack:
        """A tenant's pack: `{"rules": {id: {param: value}}, "credit": {...}, "licence": {...},
        "alerts": {"backlog_threshold": n}, "due_soon_days": n, "horizon_days": n}`. Unknown rules or parameters raise ValueError."""
        if not isinstance(overrides, Mapping):
            raise ValueError("overrides must be an object")
        top = {"rules", "credit", "licence", "alerts", "due_soon_days", "horizon_days"}
        unknown = sorted(set(overrides) - top)
        if unknown:
            raise ValueError(f"unknown override section(s) {unknown}; allowed: {sorted(top)}")
        rules = dict(self.rules)
        rule_overrides = overrides.get("rules", {})
        if not isinstance(rule_overrides, Mapping):
            raise ValueError("overrides.rules must be an object keyed by rule id")
        for rule_id, changes in rule_overrides.items():
            if rule_id not in rules:
                raise ValueError(f"unknown rule {rule_id!r}; known rules: {', '.join(sorted(rules))}")
            rule = rules[rule_id]
            rules[rule_id] = _replace_params(rule, _merge(rule.params, changes, f"rules.{rule_id}", rule_id))
        changed: dict[str, Any] = {"rules": MappingProxyType(rules)}
        for key in ("due_soon_days", "horizon_days"):
            if key in overrides:
                v = overrides[key]
                if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 3660:
                    raise ValueError(f"{key} must be an integer between 0 and 3660, got {v!r}")
                changed[key] = v
        for key in ("credit", "licence", "alerts"):
            if key in overrides:
                changed[key] = _merge(getattr(self, key), overrides[key], key, None)
        return RulePack(**{**self.__dict__, **changed})


def _replace_params(rule: Rule, params: Mapping[str, Any]) -> Rule:
    return Rule(**{**{f: getattr(rule, f) for f in rule.__dataclass_fields__}, "params": params})


def _merge(defaults: Mapping[str, Any], changes: Any, path: str, rule_id: str | None) -> Mapping[str, Any]:
    if not isinstance(changes, Mapping):
        raise ValueError(f"{path} must be an object")
    out = dict(defaults)
    for key, value in changes.items():
        where = f"{path}.{key}"
        if key not in defaults:
            raise ValueError(f"{path} has no parameter {key!r}; parameters: {', '.join(sorted(defaults))}")
        out[key] = _check(defaults[key], value, where, key, rule_id)
    return MappingProxyType(out)


def _check(default: Any, value: Any, where: str, key: str, rule_id: str | None) -> Any:
    if key == "severity":
        if value not in SEVERITIES:
            raise ValueError(f"{where} must be one of {SEVERITIES}, got {value!r}")
        return value
    if key == "roll":
        if value not in ("next", "previous", "none"):
            raise ValueError(f"{where} must be 'next', 'previous' or 'none', got {value!r}")
        return value
    if key == "windows":
        return _check_windows(value, where)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 1_000_000_000_000:
            raise ValueError(f"{where} must be a non-negative integer, got {value!r}")
        return value
    if isinstance(default, float):
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1_000_000:
            raise ValueError(f"{where} must be a non-negative number, got {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ValueError(f"{where} must be a string, got {value!r}")
        if re.fullmatch(r"\d\d-\d\d", default) and not _is_month_day(value):
            raise ValueError(f"{where} must be a MM-DD day such as {default!r}, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple):
            raise ValueError(f"{where} must be a list, got {value!r}")
        if key in ("reminders", "milestone_days"):
            if not all(isinstance(v, int) and not isinstance(v, bool) and -366 <= v <= 366 for v in value):
                raise ValueError(f"{where} must be a list of whole days (-366..366), got {value!r}")
            if len(set(value)) != len(value):
                raise ValueError(f"{where} lists a day twice: {value!r}")
            if key == "milestone_days" and (len(value) != len(default) or any(v <= 0 for v in value)):
                raise ValueError(f"{where} must list {len(default)} positive days before the window closes")
            return tuple(sorted(value, reverse=True))
        if not all(isinstance(v, str) for v in value):
            raise ValueError(f"{where} must be a list of strings, got {value!r}")
        return tuple(value)
    if isinstance(default, Mapping):
        return _merge(default, value, where, rule_id)
    raise ValueError(f"{where} cannot be overridden")


def _is_month_day(value: str) -> bool:
    if not re.fullmatch(r"\d\d-\d\d", value):
        return False
    try:
        date(2024, int(value[:2]), int(value[3:]))
    except ValueError:
        return False
    return True


def _check_windows(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be an object keyed by window year or 'year/authority'")
    out = {}
    for key, window in value.items():
        if not isinstance(key, str) or not re.fullmatch(r"\d{4}(/.+)?", key):
            raise ValueError(f"{where}: key {key!r} must be a window year ('2025') or 'year/authority'")
        if not isinstance(window, Mapping) or not window or set(window) - {"opens", "closes", "makeup_closes"}:
            raise ValueError(f"{where}.{key} must be an object with opens, closes and/or makeup_closes dates")
        parsed = {}
        for name, day in window.items():
            try:
                parsed[name] = date.fromisoformat(day) if isinstance(day, str) else None
            except ValueError:
                parsed[name] = None
            if parsed[name] is None:
                raise ValueError(f"{where}.{key}.{name} must be a YYYY-MM-DD date, got {day!r}")
        out[key] = MappingProxyType(parsed)
    return MappingProxyType(out)


_DEFAULT = RulePack(MappingProxyType({r.id: r for r in OBLIGATION_RULES + FINDING_RULES}))
