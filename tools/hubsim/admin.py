"""``/_admin``: health, fault injection and limits at run time (the server is loopback-only)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from hubsim.errors import bad_request
from hubsim.faults import FaultRule

if TYPE_CHECKING:
    from hubsim.server import Handler


def health(h: Handler) -> None:
    h.send_json({"ok": True, "port": h.server.port})


def faults(h: Handler) -> None:
    plan = h.server.fault_plan
    if h.command == "POST":
        body = h.body.json()
        try:
            for rule in body if isinstance(body, list) else [body]:
                plan.add(
                    FaultRule.parse(rule) if isinstance(rule, str) else FaultRule.from_dict(rule)
                )
        except (ValueError, TypeError) as e:
            raise bad_request(f"Invalid fault rule: {e}") from None
    elif h.command == "DELETE":
        seed = h.q("seed")
        plan.clear(int(seed) if seed else None)
    h.send_json(plan.to_json())


def limits(h: Handler) -> None:
    current = h.server.limits
    if h.command == "POST":
        body = h.body.json()
        known = {f.name for f in dataclasses.fields(current)}
        if not isinstance(body, dict) or set(body) - known:
            raise bad_request(f"Limits are a JSON object with keys among {sorted(known)}")
        for k, v in body.items():
            setattr(current, k, int(v))
    h.send_json(dataclasses.asdict(current))
