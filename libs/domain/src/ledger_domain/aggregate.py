"""The base of the services' aggregates: the kernel's Aggregate with a cheap copy.

The repository copies an aggregate on every load and every remember. A deep copy
walks every ``EventRef`` the aggregate ever saw, which makes a long-lived
aggregate (a company's traffic reports, a busy import) cost more with each fact.
``EventRef`` is frozen, so the event index is copied shallowly; only the small
mutable state is copied deeply.
"""

from __future__ import annotations

import copy
from typing import Any

from ledger_kernel.aggregate import Aggregate


class DomainAggregate(Aggregate):
    def __deepcopy__(self, memo: dict[int, Any]) -> DomainAggregate:
        clone = object.__new__(type(self))
        state = dict(self.__dict__)
        for name, value in state.items():
            if name == "events":
                state[name] = dict(value)  # values are frozen EventRefs
            elif value and isinstance(value, dict | list | set):
                state[name] = copy.deepcopy(value, memo)
            elif isinstance(value, dict | list | set):
                state[name] = type(value)()
        clone.__dict__.update(state)
        return clone
