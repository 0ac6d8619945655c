"""What the statement's "Pay in instalments" section shows: the running or proposed plan, or the
form to propose one within the limits the organisation's terms allow (``domain.arrangements``).

Its words are in ``ARRANGEMENT_STRINGS`` (merged into ``portal.i18n.STRINGS``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from domain import arrangements, statement
from domain.models import Customer, Organisation


@dataclass
class PlanForm:
    """The plan form: values entered, the schedule they make (a preview), and what was wrong."""

    invoice_ids: list[str] = field(default_factory=list)
    instalments: str = ""
    interval: str = ""
    first_due_date: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    preview: arrangements.Proposal | None = None


def _limits(terms: arrangements.Terms, as_of: dt.date) -> dict[str, Any]:
    """What the form's inputs allow: within the terms when the portal offers only those, up to
    the hard limits when a proposal outside them waits for a decision."""
    strict = terms.outside == "not_offered"
    days = terms.first_within_days if strict else arrangements.MAX_FIRST_DAYS
    return {
        "min_date": as_of,
        "max_date": as_of + dt.timedelta(days=days),
        "max_instalments": terms.max_instalments if strict else arrangements.MAX_INSTALMENTS,
        "intervals": terms.intervals if strict else arrangements.INTERVALS,
    }


def context(
    db: Session, customer: Customer, org: Organisation, as_of: dt.date, lines: list[statement.StatementLine],
    *, form: PlanForm | None = None, made: arrangements.Arrangement | None = None,
    view: statement.StatementView | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``view``: the statement's read model when the page has it (it says whether there is a plan
    and holds the terms, so a debtor without a plan costs no further query)."""
    has_plan = view is None or view.plan_id is not None
    live = arrangements.live_of(db, org.id, customer.id) if has_plan else None
    out: dict[str, Any] = {"plan": live, "plan_made": made, "plan_offered": False, "plan_today": as_of}
    if live is not None:
        paid, shown = arrangements.current(db, live)
        out.update(plan_instalments=shown, plan_paid=paid, plan_next=arrangements.next_due(shown))
        return out
    candidates = [ln.invoice for ln in lines if ln.invoice.status == "open" and ln.invoice.open_cents > 0]
    if not candidates or len({inv.currency for inv in candidates}) > 1:
        return out
    terms = arrangements.terms_for(db, customer, view.terms if view is not None else None)
    balance = sum(inv.open_cents for inv in candidates)
    limits = _limits(terms, as_of)
    if form is None:
        first = min(as_of + dt.timedelta(days=7), limits["max_date"])
        interval = "monthly" if "monthly" in limits["intervals"] else limits["intervals"][0]
        form = PlanForm(invoice_ids=[inv.id for inv in candidates], instalments=str(min(3, limits["max_instalments"])),
                        interval=interval, first_due_date=first.isoformat())  # fmt: skip
    out.update(plan_offered=arrangements.offered(terms, balance), plan_terms=terms, plan_limits=limits,
               plan_form=form, plan_candidates=candidates, plan_currency=candidates[0].currency)  # fmt: skip
    return out


# The section's words in every language the portal speaks (merged into ``portal.i18n.STRINGS``).
ARRANGEMENT_STRINGS: dict[str, dict[str, str]] = {
    'plan_title': {
        'nl': 'Betalen in termijnen',
        'fr': 'Payer en plusieurs fois',
        'en': 'Pay in instalments',
    },
    'plan_badge': {
        'nl': 'In betalingsregeling',
        'fr': 'Dans un plan de paiement',
        'en': 'In a payment plan',
    },
    'plan_intro': {
        'nl': ('Kunt u niet alles in één keer betalen? Kies hoeveel termijnen en wanneer de eerste is; u '
               'ziet meteen het schema.'),
        'fr': ('Vous ne pouvez pas tout payer en une fois ? Choisissez le nombre d’échéances et la date de '
               'la première ; vous voyez aussitôt l’échéancier.'),
        'en': ('Cannot pay it all at once? Choose how many instalments and when the first is due; you see '
               'the schedule at once.'),
    },
    'plan_invoices': {
        'nl': 'Voor welke facturen',
        'fr': 'Pour quelles factures',
        'en': 'For which invoices',
    },
    'plan_instalments': {
        'nl': 'Aantal termijnen',
        'fr': 'Nombre d’échéances',
        'en': 'Number of instalments',
    },
    'plan_instalments_hint': {
        'nl': 'Van 2 tot {max}.',
        'fr': 'De 2 à {max}.',
        'en': 'From 2 to {max}.',
    },
    'plan_interval': {
        'nl': 'Om de',
        'fr': 'Toutes les',
        'en': 'Every',
    },
    'plan_interval_weekly': {
        'nl': 'week',
        'fr': 'semaines',
        'en': 'week',
    },
    'plan_interval_monthly': {
        'nl': 'maand',
        'fr': 'mois',
        'en': 'month',
    },
    'plan_first': {
        'nl': 'Eerste termijn op',
        'fr': 'Première échéance le',
        'en': 'First instalment on',
    },
    'plan_first_hint': {
        'nl': 'Uiterlijk {date}.',
        'fr': 'Au plus tard le {date}.',
        'en': 'On {date} at the latest.',
    },
    'plan_preview': {
        'nl': 'Toon het schema',
        'fr': 'Afficher l’échéancier',
        'en': 'Show the schedule',
    },
    'plan_confirm': {
        'nl': 'Ik ga akkoord met deze regeling',
        'fr': 'J’accepte ce plan',
        'en': 'I agree to this plan',
    },
    'plan_schedule': {
        'nl': 'Het schema',
        'fr': 'L’échéancier',
        'en': 'The schedule',
    },
    'plan_col_n': {
        'nl': 'Termijn',
        'fr': 'Échéance',
        'en': 'Instalment',
    },
    'plan_col_date': {
        'nl': 'Datum',
        'fr': 'Date',
        'en': 'Date',
    },
    'plan_col_amount': {
        'nl': 'Bedrag',
        'fr': 'Montant',
        'en': 'Amount',
    },
    'plan_col_status': {
        'nl': 'Status',
        'fr': 'Statut',
        'en': 'Status',
    },
    'plan_total': {
        'nl': 'Totaal {amount}; de afronding zit in de laatste termijn. Er komen geen kosten of rente bij.',
        'fr': 'Total {amount} ; l’arrondi est sur la dernière échéance. Aucuns frais ni intérêts ne s’y ajoutent.',
        'en': 'Total {amount}; the rounding is on the last instalment. No costs or interest are added.',
    },
    'plan_needs_review': {
        'nl': ('Dit voorstel valt buiten wat wij direct kunnen toezeggen ({why}). U kunt het toch '
               'indienen: wij beoordelen het en laten u per e-mail weten wat wij besluiten.'),
        'fr': ('Cette proposition dépasse ce que nous pouvons accepter tout de suite ({why}). Vous pouvez '
               'quand même l’envoyer : nous l’examinerons et vous informerons de notre décision par '
               'e-mail.'),
        'en': ('This proposal is outside what we can agree to at once ({why}). You can still send it: we '
               'will look at it and let you know by e-mail what we decide.'),
    },
    'plan_waiting': {
        'nl': ('Wij hebben uw voorstel voor een betalingsregeling ontvangen. Wij beoordelen het en laten u '
               'per e-mail weten wat wij besluiten.'),
        'fr': ('Nous avons bien reçu votre proposition de plan de paiement. Nous l’examinerons et vous '
               'informerons de notre décision par e-mail.'),
        'en': ('We received your proposed payment plan. We will look at it and let you know by e-mail what '
               'we decide.'),
    },
    'plan_waiting_held': {
        'nl': 'Tot {date} krijgt u over deze facturen geen herinneringen.',
        'fr': 'Jusqu’au {date}, vous ne recevez pas de rappel pour ces factures.',
        'en': 'Until {date} you get no reminders about these invoices.',
    },
    'plan_waiting_open': {
        'nl': 'Tot wij besluiten, lopen de herinneringen gewoon door.',
        'fr': 'En attendant notre décision, les rappels continuent.',
        'en': 'Until we decide, the reminders go on as before.',
    },
    'plan_accepted': {
        'nl': ('Uw betalingsregeling is akkoord. Zolang u zich eraan houdt, krijgt u over deze facturen '
               'geen herinneringen.'),
        'fr': ('Votre plan de paiement est accepté. Tant que vous le respectez, vous ne recevez pas de '
               'rappel pour ces factures.'),
        'en': 'Your payment plan is agreed. While you keep to it, you get no reminders about these invoices.',
    },
    'plan_paid_so_far': {
        'nl': 'Betaald: {paid} van {total}.',
        'fr': 'Payé : {paid} sur {total}.',
        'en': 'Paid: {paid} of {total}.',
    },
    'plan_pay_next': {
        'nl': 'Betaal termijn {n}: {amount}',
        'fr': 'Payer l’échéance {n} : {amount}',
        'en': 'Pay instalment {n}: {amount}',
    },
    'plan_status_pending': {
        'nl': 'open',
        'fr': 'à payer',
        'en': 'to pay',
    },
    'plan_status_paid': {
        'nl': 'betaald',
        'fr': 'payé',
        'en': 'paid',
    },
    'plan_status_missed': {
        'nl': 'te laat',
        'fr': 'en retard',
        'en': 'overdue',
    },
    'plan_err_invoice_ids': {
        'nl': 'Kies de facturen voor de regeling.',
        'fr': 'Choisissez les factures du plan.',
        'en': 'Choose the invoices for the plan.',
    },
    'plan_err_instalments': {
        'nl': 'Kies een aantal termijnen binnen de grenzen.',
        'fr': 'Choisissez un nombre d’échéances dans les limites.',
        'en': 'Choose a number of instalments within the limits.',
    },
    'plan_err_interval': {
        'nl': 'Kies week of maand.',
        'fr': 'Choisissez semaine ou mois.',
        'en': 'Choose week or month.',
    },
    'plan_err_first_due_date': {
        'nl': 'Kies een datum voor de eerste termijn binnen de grenzen.',
        'fr': 'Choisissez une date pour la première échéance dans les limites.',
        'en': 'Choose a date for the first instalment within the limits.',
    },
    'plan_err_customer_id': {
        'nl': 'U heeft al een betalingsregeling.',
        'fr': 'Vous avez déjà un plan de paiement.',
        'en': 'You already have a payment plan.',
    },
    'plan_form_errors': {
        'nl': 'Er klopt iets niet:',
        'fr': 'Quelque chose ne va pas :',
        'en': 'Something is not right:',
    },
    'plan_why_min_balance': {
        'nl': 'het bedrag is te klein',
        'fr': 'le montant est trop faible',
        'en': 'the amount is too small',
    },
    'plan_why_max_instalments': {
        'nl': 'te veel termijnen',
        'fr': 'trop d’échéances',
        'en': 'too many instalments',
    },
    'plan_why_min_instalment': {
        'nl': 'de termijnen zijn te klein',
        'fr': 'les échéances sont trop petites',
        'en': 'the instalments are too small',
    },
    'plan_why_interval': {
        'nl': 'die termijnlengte',
        'fr': 'cette périodicité',
        'en': 'that interval',
    },
    'plan_why_first_within': {
        'nl': 'de eerste termijn ligt te ver weg',
        'fr': 'la première échéance est trop lointaine',
        'en': 'the first instalment is too far off',
    },
    'plan_why_max_term': {
        'nl': 'de regeling duurt te lang',
        'fr': 'le plan dure trop longtemps',
        'en': 'the plan runs too long',
    },
    'plan_why_not_allowed': {
        'nl': 'geen regelingen',
        'fr': 'pas de plans',
        'en': 'no plans',
    },
}
