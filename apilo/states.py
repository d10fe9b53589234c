"""One transition table per stateful model: who may move from which state to which.

Every service that changes a document's or a print job's state calls `TABLE.move(obj, target)` (or
`TABLE.check(current, target)`); an illegal move raises `IllegalTransition` with a Polish message, never a silent
overwrite. The tables themselves live next to their models (`accounting/states.py`, `devices/states.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .errors import Conflict


class IllegalTransition(Conflict):
    """A move the table does not allow (HTTP 409)."""


@dataclass(frozen=True)
class TransitionTable:
    name: str  # what the rows are, in Polish (genitive), e.g. "dokumentu"
    transitions: Mapping[str, Iterable[str]]
    labels: Mapping[str, str] = field(default_factory=dict)
    # Optional per-(from, to) messages shown instead of the generic one.
    messages: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def allowed(self, current: str, target: str) -> bool:
        return target in set(self.transitions.get(current, ()))

    def targets(self, current: str) -> set[str]:
        return set(self.transitions.get(current, ()))

    def check(self, current: str, target: str) -> None:
        if self.allowed(current, target):
            return
        message = self.messages.get((current, target)) or (
            f"Niedozwolona zmiana stanu {self.name}: „{self.labels.get(current, current)}” → "
            f"„{self.labels.get(target, target)}”."
        )
        raise IllegalTransition(message, extra={"state": current, "target": target})

    def move(self, obj, target: str, *, attr: str = "state") -> list[str]:
        """Check and set `obj.<attr>`; returns the update_fields to save. A move to the same state is allowed only
        when the table lists it (e.g. queued → queued for a job that waits again)."""
        self.check(getattr(obj, attr), target)
        setattr(obj, attr, target)
        return [attr]
