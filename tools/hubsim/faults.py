"""Fault injection for tests: fail, cut short or slow down chosen requests, reproducibly.

A rule picks requests by ``kind`` (the route's name, see ``server.ROUTES``; ``*`` for all),
optionally ``method`` and a ``path`` substring, and fires for the next ``times`` matching
requests, or for a ``rate`` fraction of them (drawn from a generator seeded by ``--seed``, so a
given request sequence always sees the same faults), or for all of them if neither is set.
The first firing rule with a status or drop decides the request's fate (later such rules
are left for later requests); delays of all firing rules add up. A rule answers ``status`` (with ``Retry-After`` if ``retry_after``), or cuts the
connection after ``drop`` bytes of the body (response bodies for downloads, request bodies for
uploads), and/or sleeps ``delay`` seconds first.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class FaultRule:
    kind: str = "*"
    method: str | None = None
    path: str | None = None
    status: int | None = None
    times: int | None = None
    rate: float | None = None
    drop: int | None = None
    delay: float = 0.0
    retry_after: int | None = None
    fired: int = 0

    def __post_init__(self) -> None:
        if self.status is not None and not 400 <= int(self.status) <= 599:
            raise ValueError(f"fault status must be 4xx or 5xx, got {self.status}")
        if self.rate is not None and not 0.0 <= float(self.rate) <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, got {self.rate}")
        if self.status is None and self.drop is None and not self.delay:
            raise ValueError("a fault needs at least one of status, drop or delay")
        if self.method:
            self.method = self.method.upper()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FaultRule:
        known = {f.name: f.type for f in fields(cls)} | {"fired": None}
        unknown = set(d) - set(known)
        if unknown:
            raise ValueError(f"unknown fault option(s): {', '.join(sorted(unknown))}")
        conv = {"status": int, "times": int, "rate": float, "drop": int, "delay": float,
                "retry_after": int}  # fmt: skip
        return cls(**{k: (conv[k](v) if k in conv and v is not None else v) for k, v in d.items()})

    @classmethod
    def parse(cls, spec: str) -> FaultRule:
        """``KIND[:key=value,...]``, e.g. ``resolve:status=503,times=2`` or ``*:delay=0.1``."""
        kind, _, rest = spec.partition(":")
        opts: dict[str, Any] = {"kind": kind or "*"}
        for item in filter(None, rest.split(",")):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"fault option {item!r} is not key=value (in {spec!r})")
            opts[key.strip().replace("-", "_")] = value.strip()
        return cls.from_dict(opts)

    def matches(self, kind: str, method: str, path: str) -> bool:
        return (
            self.kind in ("*", kind)
            and (self.method is None or self.method == method)
            and (self.path is None or self.path in path)
        )


@dataclass
class Fault:
    """What to do to one request."""

    status: int | None = None
    drop: int | None = None
    delay: float = 0.0
    retry_after: int | None = None


class FaultPlan:
    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self, seed: int | None = None) -> None:
        with self._lock:
            self._rules.clear()
            if seed is not None:
                self._rng.seed(seed)

    def to_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self._rules]

    def pick(self, kind: str, method: str, path: str) -> Fault | None:
        """The fault for one request: the first firing rule with a status or drop (later ones
        are not consumed), plus the delays of every firing rule."""
        with self._lock:
            fault = None
            for rule in self._rules:
                if not rule.matches(kind, method, path):
                    continue
                breaks = rule.status is not None or rule.drop is not None
                if breaks and fault is not None and (fault.status or fault.drop) is not None:
                    continue
                if rule.times is not None and rule.times <= 0:
                    continue
                if rule.rate is not None and self._rng.random() >= rule.rate:
                    continue
                if rule.times is not None:
                    rule.times -= 1
                rule.fired += 1
                fault = fault or Fault()
                fault.delay += rule.delay
                if breaks:
                    fault.status, fault.drop = rule.status, rule.drop
                    fault.retry_after = rule.retry_after
            return fault
