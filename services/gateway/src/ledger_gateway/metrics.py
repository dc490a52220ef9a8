"""A few counters in Prometheus text format: enough to watch the gateway without another dependency."""

from __future__ import annotations

import threading
from collections import defaultdict


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)
        self.facts: dict[str, int] = defaultdict(int)
        self.idempotency_purged = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            self.seconds[(method, route)] += seconds

    def fact(self, outcome: str, count: int = 1) -> None:
        with self._lock:
            self.facts[outcome] += count

    def purged(self, count: int) -> None:
        with self._lock:
            self.idempotency_purged += count

    def render(self) -> str:
        lines = ["# TYPE ledger_gateway_requests_total counter"]
        with self._lock:
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append(f'ledger_gateway_requests_total{{method="{method}",route="{route}",status="{status}"}} {n}')
            lines.append("# TYPE ledger_gateway_request_seconds_total counter")
            for (method, route), s in sorted(self.seconds.items()):
                lines.append(f'ledger_gateway_request_seconds_total{{method="{method}",route="{route}"}} {s:.6f}')
            lines.append("# TYPE ledger_gateway_facts_total counter")
            for outcome, n in sorted(self.facts.items()):
                lines.append(f'ledger_gateway_facts_total{{outcome="{outcome}"}} {n}')
            lines.append("# TYPE ledger_gateway_idempotency_purged_total counter")
            lines.append(f"ledger_gateway_idempotency_purged_total {self.idempotency_purged}")
        return "\n".join(lines) + "\n"


METRICS = Metrics()
