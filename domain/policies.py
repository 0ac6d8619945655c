"""Dunning policies: which steps an overdue invoice walks, and when.

The default policy follows common Dutch practice: a friendly reminder a week
after the due date, a firmer one with the account statement at two weeks, a
phone call at three, a final reminder at four, the formal notice
(ingebrekestelling; for consumers the fourteen-day letter) at five, and the
hand-off to a collection agency at fifty days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.models import Customer, Invoice, Policy, PolicyStep

STEP_KINDS = (
    "reminder",
    "statement_reminder",
    "call_task",
    "final_reminder",
    "formal_notice",
    "collection_handover",
)
CHANNELS = ("email", "task", "letter")


@dataclass(frozen=True)
class StepSpec:
    kind: str
    days_after_due: int
    channel: str
    fee_cents: int = 0


DEFAULT_STEPS = (
    StepSpec("reminder", 7, "email"),
    StepSpec("statement_reminder", 14, "email"),
    StepSpec("call_task", 21, "task"),
    StepSpec("final_reminder", 28, "email"),
    StepSpec("formal_notice", 35, "email"),
    StepSpec("collection_handover", 50, "task"),
)


def seed_default_policy(session: Session, org_id: str) -> Policy:
    policy = Policy(org_id=org_id, name="Standard", is_default=True, priority=1000, applies_to={})
    policy.steps = [
        PolicyStep(
            org_id=org_id,
            position=i,
            kind=s.kind,
            days_after_due=s.days_after_due,
            channel=s.channel,
            fee_cents=s.fee_cents,
        )
        for i, s in enumerate(DEFAULT_STEPS, start=1)
    ]
    session.add(policy)
    session.flush()
    return policy


def policy_for(session: Session, customer: Customer) -> Policy | None:
    """The customer's own policy if set, else the organisation's default."""
    if customer.policy_id:
        policy = session.get(Policy, customer.policy_id)
        if policy is not None and policy.org_id == customer.org_id:
            return policy
    return session.scalar(
        select(Policy).where(Policy.org_id == customer.org_id, Policy.is_default.is_(True)).limit(1)
    )


def next_step(policy: Policy | None, after_position: int) -> PolicyStep | None:
    if policy is None:
        return None
    for step in policy.steps:
        if step.position > after_position:
            return step
    return None


def schedule(invoice: Invoice, policy: Policy | None) -> None:
    """Set ``next_action_on`` from the invoice's due date and the next step not yet taken."""
    step = next_step(policy, invoice.dunning_step) if invoice.status == "open" else None
    invoice.policy_id = policy.id if policy is not None else None
    invoice.next_action_on = (
        invoice.due_date + dt.timedelta(days=step.days_after_due) if step is not None else None
    )
