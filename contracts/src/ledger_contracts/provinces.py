"""Province-level divisions: GB/T 2260 two-digit codes, names and abbreviations.

The ledger stores provinces as their two-digit code *as a string* ("44"), the
form used in division codes and licence coverage lists. Licence numbers carry
the one-character abbreviation instead (粤B2-20230510), so both directions are
needed to check that a provincial licence's prefix matches its province.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Province:
    """One GB/T 2260 province-level division."""

    code: str
    name_zh: str
    name_en: str
    abbreviation: str
    # Other abbreviations in official use; licence numbers in Sichuan, Guizhou
    # and Yunnan are commonly issued with 蜀 / 黔 / 滇 rather than 川 / 贵 / 云.
    alt_abbreviations: tuple[str, ...] = ()

    @property
    def short_zh(self) -> str:
        """The name without its administrative suffix (广东省 → 广东)."""
        for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市"):
            if self.name_zh.endswith(suffix):
                return self.name_zh[: -len(suffix)]
        return self.name_zh


_TABLE = (
    Province("11", "北京市", "Beijing", "京"),
    Province("12", "天津市", "Tianjin", "津"),
    Province("13", "河北省", "Hebei", "冀"),
    Province("14", "山西省", "Shanxi", "晋"),
    Province("15", "内蒙古自治区", "Inner Mongolia", "蒙"),
    Province("21", "辽宁省", "Liaoning", "辽"),
    Province("22", "吉林省", "Jilin", "吉"),
    Province("23", "黑龙江省", "Heilongjiang", "黑"),
    Province("31", "上海市", "Shanghai", "沪"),
    Province("32", "江苏省", "Jiangsu", "苏"),
    Province("33", "浙江省", "Zhejiang", "浙"),
    Province("34", "安徽省", "Anhui", "皖"),
    Province("35", "福建省", "Fujian", "闽"),
    Province("36", "江西省", "Jiangxi", "赣"),
    Province("37", "山东省", "Shandong", "鲁"),
    Province("41", "河南省", "Henan", "豫"),
    Province("42", "湖北省", "Hubei", "鄂"),
    Province("43", "湖南省", "Hunan", "湘"),
    Province("44", "广东省", "Guangdong", "粤"),
    Province("45", "广西壮族自治区", "Guangxi", "桂"),
    Province("46", "海南省", "Hainan", "琼"),
    Province("50", "重庆市", "Chongqing", "渝"),
    Province("51", "四川省", "Sichuan", "川", ("蜀",)),
    Province("52", "贵州省", "Guizhou", "贵", ("黔",)),
    Province("53", "云南省", "Yunnan", "云", ("滇",)),
    Province("54", "西藏自治区", "Tibet", "藏"),
    Province("61", "陕西省", "Shaanxi", "陕", ("秦",)),
    Province("62", "甘肃省", "Gansu", "甘", ("陇",)),
    Province("63", "青海省", "Qinghai", "青"),
    Province("64", "宁夏回族自治区", "Ningxia", "宁"),
    Province("65", "新疆维吾尔自治区", "Xinjiang", "新"),
    Province("71", "台湾省", "Taiwan", "台"),
    Province("81", "香港特别行政区", "Hong Kong", "港"),
    Province("82", "澳门特别行政区", "Macao", "澳"),
)

PROVINCES: Mapping[str, Province] = MappingProxyType({p.code: p for p in _TABLE})
"""Province-level divisions by two-digit code, in code order."""

PROVINCE_CODES: tuple[str, ...] = tuple(PROVINCES)

_BY_ABBREVIATION: Mapping[str, str] = MappingProxyType(
    {abbr: p.code for p in _TABLE for abbr in (p.abbreviation, *p.alt_abbreviations)}
)

_BY_NAME: Mapping[str, str] = MappingProxyType(
    {name: p.code for p in _TABLE for name in (p.name_zh, p.short_zh, p.name_en.lower())}
)


def province_for_abbreviation(abbreviation: str) -> str | None:
    """The code for a one-character abbreviation (粤 → "44"), or None."""
    return _BY_ABBREVIATION.get(abbreviation)


def province_for_name(name: str) -> str | None:
    """The code for a Chinese or English name (广东 / 广东省 / Guangdong → "44"), or None.

    Only used to suggest the right code in an error message: facts always
    carry codes, never names.
    """
    return (
        _BY_NAME.get(name.strip()) or _BY_NAME.get(name.strip().lower()) or _BY_ABBREVIATION.get(name.strip())
    )
