"""Dutch-law money rules: collection costs, statutory interest, the consumer's 14-day letter.

Pure functions over integer cents and dates: no database, no web framework, no
clock. Each module's docstring says which article of the Burgerlijk Wetboek or
which decree it follows. Belgian law sits beside it in ``domain.law.be`` with the same
shape; the creditor's country (or its policy's ``law``) picks one in the dunning plan.
"""

from domain.law.collection_costs import (
    MAXIMUM_COSTS_CENTS,
    MINIMUM_COSTS_CENTS,
    CollectionCosts,
    collection_costs,
    collection_costs_breakdown,
)
from domain.law.consumer_notice import (
    NOTICE_TERM_DAYS,
    DebtorKind,
    earliest_costs_date,
    may_charge_costs,
)
from domain.law.interest import (
    Capitalisation,
    InterestKind,
    InterestPeriod,
    InterestResult,
    RateRow,
    RateTable,
    RateUnavailableError,
    default_rate_table,
    statutory_interest,
)

__all__ = [
    "MAXIMUM_COSTS_CENTS",
    "MINIMUM_COSTS_CENTS",
    "NOTICE_TERM_DAYS",
    "Capitalisation",
    "CollectionCosts",
    "DebtorKind",
    "InterestKind",
    "InterestPeriod",
    "InterestResult",
    "RateRow",
    "RateTable",
    "RateUnavailableError",
    "collection_costs",
    "collection_costs_breakdown",
    "default_rate_table",
    "earliest_costs_date",
    "may_charge_costs",
    "statutory_interest",
]
