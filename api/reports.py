"""Reports: aging, days sales outstanding, a customer's payment behaviour."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from msgspec import Struct
from sqlalchemy.orm import Session

from api import docs
from api.auth import Auth
from api.docs import responses
from domain import customers, reports
from domain.errors import ValidationError
from domain.money import format_amount


class AgingLine(Struct, rename={"d1_30": "1_30", "d31_60": "31_60", "d61_90": "61_90"}):
    currency: str
    not_due: str
    d1_30: str
    d31_60: str
    d61_90: str
    over_90: str
    total: str
    customer_id: str | None = None
    customer_name: str | None = None

    @classmethod
    def of(cls, row: reports.AgingRow) -> AgingLine:
        c = row.cents
        return cls(
            currency=row.currency, not_due=format_amount(c["not_due"]), d1_30=format_amount(c["1_30"]),
            d31_60=format_amount(c["31_60"]), d61_90=format_amount(c["61_90"]), over_90=format_amount(c["over_90"]),
            total=format_amount(row.total), customer_id=row.customer_id, customer_name=row.customer_name,
        )


class Aging(Struct):
    as_of: dt.date
    buckets: list[str]
    totals: list[AgingLine]
    customers: list[AgingLine]


class DsoLine(Struct):
    currency: str
    receivables: str
    sales: str
    dso: str | None


class DsoReport(Struct):
    as_of: dt.date
    period_days: int
    items: list[DsoLine]


class BehaviourOut(Struct):
    customer_id: str
    paid_invoices: int
    average_days_late: str | None
    on_time_ratio: str | None
    reminders_needed: int
    open_invoices: int
    segment: str


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class ReportController(Controller):
    path = "/reports"
    tags = ["reports"]

    @get("/aging", opt={"scope": "reports:read"}, sync_to_thread=True, summary="Aging of receivables",
         responses=responses(Aging, docs.AGING, description="Open amounts by days overdue on as_of"))
    def aging(self, db: Session, auth: Auth, as_of: dt.date | None = None) -> Aging:
        """Open amounts by days overdue (not due, 1-30, 31-60, 61-90, over 90), per currency and per customer."""
        day = as_of or dt.date.today()
        totals, per_customer = reports.aging(db, auth.org_id, day)
        return Aging(as_of=day, buckets=["not_due", "1_30", "31_60", "61_90", "over_90"],
                     totals=[AgingLine.of(r) for r in totals], customers=[AgingLine.of(r) for r in per_customer])

    @get("/dso", opt={"scope": "reports:read"}, sync_to_thread=True, summary="Days sales outstanding",
         responses=responses(DsoReport, docs.DSO, description="DSO per currency"))
    def dso(self, db: Session, auth: Auth, as_of: dt.date | None = None,
            period_days: Annotated[int, Parameter(ge=1, le=730)] = 90) -> DsoReport:  # fmt: skip
        """Days sales outstanding: receivables on ``as_of`` / sales invoiced in the last ``period_days`` x days."""
        if not 1 <= period_days <= 730:
            raise ValidationError("period_days must be between 1 and 730", "period_days")
        day = as_of or dt.date.today()
        return DsoReport(as_of=day, period_days=period_days, items=[
            DsoLine(d.currency, format_amount(d.receivables_cents), format_amount(d.sales_cents), _dec(d.days))
            for d in reports.dso(db, auth.org_id, day, period_days)
        ])

    @get("/customers/{customer_id:str}", opt={"scope": "reports:read"}, sync_to_thread=True,
         summary="A customer's payment behaviour",
         responses=responses(BehaviourOut, docs.BEHAVIOUR, 404, description="How the customer paid"))
    def behaviour(self, db: Session, auth: Auth, customer_id: str,
                  last: Annotated[int, Parameter(ge=1, le=100)] = 10) -> BehaviourOut:  # fmt: skip
        """How the customer paid its last ``last`` invoices: days late, reminders needed, segment."""
        if not 1 <= last <= 100:
            raise ValidationError("last must be between 1 and 100", "last")
        b = reports.behaviour(db, customers.get(db, auth.org_id, customer_id), window=last)
        return BehaviourOut(b.customer_id, b.paid_invoices, _dec(b.average_days_late), _dec(b.on_time_ratio),
                            b.reminders_needed, b.open_invoices, b.segment)
