"""Chinese lunisolar festivals, computed (no tables, no I/O).

Only used for years without an official State Council schedule, to place the
lunar holidays (春节, 端午, 中秋) and 清明 in the fallback calendar. New moons
follow Meeus, *Astronomical Algorithms* ch. 49; the Sun's longitude ch. 25
(accuracy ~0.01°, minutes in time). Month numbering follows the current rule
(GB/T 33661-2017): month 11 contains the winter solstice, and in a 13-month
year the first month without a principal term (中气) is the leap month. Dates
are Beijing (UTC+8) days. A new moon within minutes of midnight could land a
festival one day off: results are only ever used for *provisional* deadlines.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from math import floor, radians, sin

_J2000 = 2451545.0
_SYNODIC = 29.530588861
_ORDINAL_TO_JD = 1721424.5  # JD at 00:00 of proleptic Gregorian ordinal 0


def _delta_t_days(year: float) -> float:
    """TT − UT in days (Espenak & Meeus polynomial near 2000, parabola elsewhere)."""
    t = year - 2000
    if -5 <= t <= 50:
        seconds = 62.92 + 0.32217 * t + 0.005589 * t * t
    else:
        u = (year - 1820) / 100
        seconds = -20 + 32 * u * u
    return seconds / 86400


def _beijing_day(jde: float) -> date:
    """The Beijing civil date of a dynamical-time Julian day."""
    year = 2000 + (jde - _J2000) / 365.25
    jd_ut = jde - _delta_t_days(year) + 8 / 24
    return date.fromordinal(int(floor(jd_ut - _ORDINAL_TO_JD)))


def _new_moon(k: int) -> float:
    """JDE of the k-th new moon after 2000-01-06 (Meeus 49.1 with periodic terms)."""
    t = k / 1236.85
    jde = 2451550.09766 + _SYNODIC * k + 0.00015437 * t**2 - 0.000000150 * t**3 + 0.00000000073 * t**4
    e = 1 - 0.002516 * t - 0.0000074 * t**2
    m = radians(2.5534 + 29.10535670 * k - 0.0000014 * t**2 - 0.00000011 * t**3)
    mp = radians(201.5643 + 385.81693528 * k + 0.0107582 * t**2 + 0.00001238 * t**3 - 0.000000058 * t**4)
    f = radians(160.7108 + 390.67050284 * k - 0.0016118 * t**2 - 0.00000227 * t**3 + 0.000000011 * t**4)
    om = radians(124.7746 - 1.56375588 * k + 0.0020672 * t**2 + 0.00000215 * t**3)
    jde += (
        -0.40720 * sin(mp)
        + 0.17241 * e * sin(m)
        + 0.01608 * sin(2 * mp)
        + 0.01039 * sin(2 * f)
        + 0.00739 * e * sin(mp - m)
        - 0.00514 * e * sin(mp + m)
        + 0.00208 * e * e * sin(2 * m)
        - 0.00111 * sin(mp - 2 * f)
        - 0.00057 * sin(mp + 2 * f)
        + 0.00056 * e * sin(2 * mp + m)
        - 0.00042 * sin(3 * mp)
        + 0.00042 * e * sin(m + 2 * f)
        + 0.00038 * e * sin(m - 2 * f)
        - 0.00024 * e * sin(2 * mp - m)
        - 0.00017 * sin(om)
        - 0.00007 * sin(mp + 2 * m)
        + 0.00004 * sin(2 * mp - 2 * f)
        + 0.00004 * sin(3 * m)
        + 0.00003 * sin(mp + m - 2 * f)
        + 0.00003 * sin(2 * mp + 2 * f)
        - 0.00003 * sin(mp + m + 2 * f)
        + 0.00003 * sin(mp - m + 2 * f)
        - 0.00002 * sin(mp - m - 2 * f)
        - 0.00002 * sin(3 * mp + m)
        + 0.00002 * sin(4 * mp)
    )
    planetary = (
        (0.000325, 299.77, 0.107408, -0.009173),
        (0.000165, 251.88, 0.016321, 0),
        (0.000164, 251.83, 26.651886, 0),
        (0.000126, 349.42, 36.412478, 0),
        (0.000110, 84.66, 18.206239, 0),
        (0.000062, 141.74, 53.303771, 0),
        (0.000060, 207.14, 2.453732, 0),
        (0.000056, 154.84, 7.306860, 0),
        (0.000047, 34.52, 27.261239, 0),
        (0.000042, 207.19, 0.121824, 0),
        (0.000040, 291.34, 1.844379, 0),
        (0.000037, 161.72, 24.198154, 0),
        (0.000035, 239.56, 25.513099, 0),
        (0.000023, 331.55, 3.592518, 0),
    )
    for coeff, a0, a1, a2 in planetary:
        jde += coeff * sin(radians(a0 + a1 * k + a2 * t * t))
    return jde


def _sun_longitude(jde: float) -> float:
    """Apparent geocentric longitude of the Sun in degrees (Meeus 25, low accuracy)."""
    t = (jde - _J2000) / 36525
    l0 = 280.46646 + 36000.76983 * t + 0.0003032 * t * t
    m = radians(357.52911 + 35999.05029 * t - 0.0001537 * t * t)
    c = (
        (1.914602 - 0.004817 * t - 0.000014 * t * t) * sin(m)
        + (0.019993 - 0.000101 * t) * sin(2 * m)
        + 0.000289 * sin(3 * m)
    )
    omega = radians(125.04 - 1934.136 * t)
    return (l0 + c - 0.00569 - 0.00478 * sin(omega)) % 360


def _jde_of(d: date) -> float:
    return d.toordinal() + _ORDINAL_TO_JD


def _solar_term(year: int, longitude: float) -> float:
    """JDE when the Sun reaches `longitude` in `year` (Newton steps on ~1°/day)."""
    # rough guess: longitude 0 near 20 March
    jde = _jde_of(date(year, 3, 20)) + ((longitude % 360) / 360) * 365.2422
    for _ in range(6):
        diff = (longitude - _sun_longitude(jde) + 180) % 360 - 180
        jde += diff * 365.2422 / 360
        if abs(diff) < 1e-5:
            break
    return jde


def _new_moon_on_or_before(d: date) -> date:
    k = floor((_jde_of(d) - 2451550.09766) / _SYNODIC) + 1
    while _beijing_day(_new_moon(k)) > d:
        k -= 1
    return _beijing_day(_new_moon(k))


def _month_starts(solstice_before: date, solstice_after: date) -> list[date]:
    """New-moon days from the month containing one winter solstice to the next."""
    first = _new_moon_on_or_before(solstice_before)
    last = _new_moon_on_or_before(solstice_after)
    k = round((_jde_of(first) - 2451550.09766) / _SYNODIC)
    while _beijing_day(_new_moon(k)) < first:
        k += 1
    starts = []
    while True:
        day = _beijing_day(_new_moon(k))
        if day > last:
            break
        starts.append(day)
        k += 1
    return starts


@lru_cache(maxsize=512)
def lunar_festivals(year: int) -> dict[str, date]:
    """The festivals of lunar year `year`: eve, spring, qingming, dragon_boat, mid_autumn."""
    ws_before = _beijing_day(_solar_term(year - 1, 270))
    ws_after = _beijing_day(_solar_term(year, 270))
    starts = _month_starts(ws_before, ws_after)  # starts[0] is month 11; last is next month 11
    leap_year = len(starts) == 14  # 13 months between the two month-11 starts
    principal = [_beijing_day(_solar_term(y, lon)) for y in (year - 1, year) for lon in range(0, 360, 30)]
    numbers: list[tuple[int, bool]] = [(11, False)]
    leap_used = False
    for i in range(1, len(starts) - 1):
        begin, end = starts[i], starts[i + 1]
        has_principal = any(begin <= p < end for p in principal)
        previous = numbers[-1][0]
        if leap_year and not leap_used and not has_principal:
            numbers.append((previous, True))
            leap_used = True
        else:
            numbers.append((previous % 12 + 1, False))
    first_day = {n: starts[i] for i, (n, leap) in enumerate(numbers) if not leap and i > 0}
    spring = first_day[1]
    return {
        "eve": spring - timedelta(days=1),
        "spring": spring,
        "qingming": _beijing_day(_solar_term(year, 15)),
        "dragon_boat": first_day[5] + timedelta(days=4),
        "mid_autumn": first_day[8] + timedelta(days=14),
    }
