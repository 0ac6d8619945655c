"""The portal's words in Dutch and English. Templates call ``t('key', name=…)``."""

from __future__ import annotations

from typing import Any

LANGS = ("nl", "en")

STRINGS: dict[str, tuple[str, str]] = {
    # layout
    "skip": ("Naar de inhoud", "Skip to content"),
    "language": ("Taal", "Language"),
    "other_lang": ("English", "Nederlands"),
    "sign_out": ("Afmelden", "Sign out"),
    "signed_out_title": ("U bent afgemeld", "You have signed out"),
    "signed_out_body": ("Open de link uit uw e-mail om weer verder te gaan.",
                        "Open the link in your e-mail to continue."),
    "footer": ("Deze pagina is alleen voor u bedoeld. Deel de link niet.",
               "This page is meant for you only. Please do not share the link."),
    # statement
    "title": ("Uw rekeningoverzicht", "Your account statement"),
    "for": ("voor {name}", "for {name}"),
    "total_due": ("Totaal te betalen", "Total due"),
    "nothing_open": ("Er staat niets meer open. Dank u wel!", "Nothing is open any more. Thank you!"),
    "pay_all": ("Alles betalen", "Pay everything"),
    "pay_all_amount": ("Betaal alles: {amount}", "Pay everything: {amount}"),
    "pay_selected": ("Betaal geselecteerde facturen", "Pay selected invoices"),
    "pay_one": ("Betaal {amount}", "Pay {amount}"),
    "pay_one_which": ("(factuur {number})", "(invoice {number})"),
    "excl_disputed": ("Betwiste facturen tellen hier niet mee.", "Disputed invoices are not included."),
    "provider": ("Betaalmethode", "Payment method"),
    "provider_sandbox": ("Testbetaling (sandbox, geen echt geld)", "Test payment (sandbox, no real money)"),
    "provider_mollie": ("iDEAL, Bancontact of creditcard", "iDEAL, Bancontact or credit card"),
    "provider_stripe": ("Kaart of iDEAL", "Card or iDEAL"),
    "no_online": ("Online betalen is nu niet mogelijk; maak het bedrag over.",
                  "Paying online is not available right now; please transfer the amount."),
    "invoices": ("Openstaande facturen", "Open invoices"),
    "col_select": ("Kies", "Choose"),
    "col_invoice": ("Factuur", "Invoice"),
    "col_date": ("Datum", "Date"),
    "col_due": ("Vervaldatum", "Due date"),
    "col_overdue": ("Dagen te laat", "Days overdue"),
    "col_amount": ("Bedrag", "Amount"),
    "col_open": ("Open", "Open"),
    "col_extras": ("Kosten en rente", "Costs and interest"),
    "col_actions": ("Acties", "Actions"),
    "select_invoice": ("Kies factuur {number}", "Choose invoice {number}"),
    "pdf": ("PDF", "PDF"),
    "pdf_label": ("Factuur {number} als PDF (opent elders)", "Invoice {number} as PDF (opens elsewhere)"),
    "reference": ("Betalingskenmerk", "Payment reference"),
    "reference_ogm": ("Gestructureerde mededeling", "Structured communication"),
    "status_disputed": ("Betwist: wij kijken ernaar", "Disputed: we are looking into it"),
    "status_paused": ("Gepauzeerd tot {date}", "On hold until {date}"),
    "status_in_collection": ("Bij het incassobureau", "With the collection agency"),
    "not_due": ("nog niet", "not yet"),
    "principal": ("Hoofdsom", "Principal"),
    "fees": ("Aanmaningskosten", "Reminder fees"),
    "costs": ("Incassokosten", "Collection costs"),
    "interest": ("Wettelijke rente", "Statutory interest"),
    "transfer": ("Liever overmaken? Naar {iban} t.n.v. {name}, met het betalingskenmerk van de factuur.",
                 "Prefer a bank transfer? To {iban}, {name}, quoting the invoice's payment reference."),
    "transfer_ogm": ("Liever overschrijven? Naar {iban} t.n.v. {name}, met de gestructureerde mededeling van de "
                     "factuur.",
                     "Prefer a bank transfer? To {iban}, {name}, quoting the invoice's structured communication."),
    "payments": ("Recente betalingen", "Recent payments"),
    "no_payments": ("Nog geen betalingen.", "No payments yet."),
    "payment_paid": ("ontvangen", "received"),
    "payment_pending": ("in behandeling", "processing"),
    "contact": ("Vragen? Neem contact op", "Questions? Get in touch"),
    # respond
    "respond_title": ("Klopt er iets niet?", "Something not right?"),
    "respond_intro": ("Laat het ons weten. Zolang wij een betwiste factuur bekijken, "
                      "krijgt u er geen herinneringen over.",
                      "Tell us. While we look at an invoice you dispute, you get no reminders about it."),
    "kind": ("Wat wilt u doen?", "What would you like to do?"),
    "kind_dispute": ("Ik ben het niet eens met een factuur", "I dispute an invoice"),
    "kind_extension": ("Ik heb meer tijd nodig (uitstel)", "I need more time (extension)"),
    "kind_promise": ("Ik betaal op een datum", "I will pay on a date"),
    "which_invoices": ("Over welke facturen?", "Which invoices?"),
    "which_hint": ("Bij uitstel of een betaalbelofte: niets gekozen is alles.",
                   "For an extension or a promise: none chosen means all."),
    "reason": ("Reden (bij betwisten)", "Reason (when disputing)"),
    "reason_none": ("Kies een reden", "Choose a reason"),
    "reason_not_received": ("Niet ontvangen of niet geleverd", "Not received or not delivered"),
    "reason_wrong_amount": ("Het bedrag klopt niet", "The amount is wrong"),
    "reason_already_paid": ("Ik heb al betaald", "I already paid"),
    "reason_quality": ("Niet tevreden over de levering", "Not satisfied with the delivery"),
    "reason_other": ("Iets anders", "Something else"),
    "date": ("Datum (bij uitstel of betaalbelofte)", "Date (for an extension or a promise)"),
    "date_extension": ("Nieuwe vervaldatum (bij uitstel)", "New due date (for an extension)"),
    "date_promise": ("Datum waarop u betaalt (bij een betaalbelofte)", "Date you will pay (for a promise)"),
    "date_hint_extension": ("Uiterlijk {date}: uitstel kan tot {days} dagen na de vervaldatum.",
                            "By {date} at the latest: an extension can run to {days} days after the due date."),
    "date_hint_promise": ("Uiterlijk {date}.", "By {date} at the latest."),
    "excl_collection": ("Facturen die bij het incassobureau liggen, betaalt u via het incassobureau; "
                        "ze tellen hier niet mee.",
                        "Invoices with the collection agency are paid through the agency and are not included here."),
    "with_agency": ("Ligt bij het incassobureau: betaal via hen", "With the collection agency: pay through them"),
    "date_hint": ("Uitstel kan tot {days} dagen na de vervaldatum.",
                  "An extension can run to {days} days after the due date."),
    "message": ("Toelichting", "Message"),
    "send": ("Versturen", "Send"),
    "sent": ("Dank u wel, wij hebben uw verzoek ontvangen. U hoort van ons.",
             "Thank you, we received your request. We will get back to you."),
    "requests": ("Uw verzoeken", "Your requests"),
    "req_dispute": ("Betwisting", "Dispute"),
    "req_extension": ("Uitstel tot {date}", "Extension to {date}"),
    "req_promise": ("Betaalbelofte voor {date}", "Promise to pay by {date}"),
    "req_open": ("wordt bekeken", "being reviewed"),
    "req_accepted": ("geaccepteerd", "accepted"),
    "req_rejected": ("afgewezen", "rejected"),
    "form_errors": ("Controleer het formulier:", "Please check the form:"),
    "err_kind": ("Kies wat u wilt doen.", "Choose what you would like to do."),
    "err_invoice_ids": ("Kies een of meer van uw openstaande facturen.", "Choose one or more of your open invoices."),
    "err_reason": ("Kies een reden.", "Choose a reason."),
    "err_message": ("Vertel ons wat er niet klopt (hoogstens 2000 tekens).",
                    "Tell us what is wrong (2000 characters at most)."),
    "err_date": ("Kies een datum na vandaag en uiterlijk {limit}.", "Choose a date after today and by {limit}."),
    "err_date_plain": ("Kies een datum na vandaag.", "Choose a date after today."),
    "err_provider": ("Deze betaalmethode is niet beschikbaar.", "This payment method is not available."),
    "err_currency": ("Betaal facturen in verschillende valuta apart.",
                     "Pay invoices in different currencies separately."),
    "err_nothing": ("Er staat niets open om te betalen.", "There is nothing open to pay."),
    # payment
    "pay_title": ("Uw betaling", "Your payment"),
    "pay_pending": ("Uw betaling wordt verwerkt", "Your payment is being processed"),
    "pay_pending_body": ("Dit duurt meestal een paar seconden. Deze pagina werkt zichzelf bij.",
                         "This usually takes a few seconds. This page updates itself."),
    "pay_paid": ("Betaling ontvangen. Dank u wel!", "Payment received. Thank you!"),
    "pay_paid_body": ("Wij hebben {amount} ontvangen. U krijgt een bevestiging per e-mail.",
                      "We received {amount}. A confirmation is on its way by e-mail."),
    "pay_failed": ("De betaling is niet gelukt", "The payment did not go through"),
    "pay_canceled": ("De betaling is geannuleerd", "The payment was cancelled"),
    "pay_expired": ("De betaling is verlopen", "The payment expired"),
    "pay_failed_body": ("Er is niets afgeschreven. U kunt het opnieuw proberen.",
                        "Nothing was charged. You can try again."),
    "back": ("Terug naar uw overzicht", "Back to your statement"),
    "pay_retry": ("Probeer opnieuw: betaal {amount}", "Try again: pay {amount}"),
    "receipt": ("Betalingsbewijs", "Receipt"),
    "receipt_to": ("Betaald aan", "Paid to"),
    "receipt_from": ("Betaald door", "Paid by"),
    "receipt_amount": ("Bedrag", "Amount"),
    "receipt_date": ("Datum", "Date"),
    "receipt_method": ("Betaalmethode", "Payment method"),
    "receipt_provider_ref": ("Referentie betaalprovider", "Payment provider reference"),
    "receipt_description": ("Omschrijving", "Description"),
    "receipt_paid": ("Betaald", "Paid"),
    "receipt_still_open": ("Nog open", "Still open"),
    "receipt_credit": ("{amount} stond niet meer open; wij houden het als tegoed voor u.",
                       "{amount} was no longer due; we hold it as a credit for you."),
    "receipt_print": ("Bewaar dit bewijs: druk deze pagina af of sla hem op als PDF "
                      "(alleen het bewijs komt op papier).",
                      "Keep this receipt: print this page or save it as a PDF (only the receipt is printed)."),
    "provider_down": ("De betaalprovider is nu niet bereikbaar", "The payment provider cannot be reached"),
    "provider_down_body": ("Er is niets afgeschreven. Probeer het over een paar minuten opnieuw, "
                           "of maak het bedrag over.",
                           "Nothing was charged. Try again in a few minutes, or transfer the amount."),
    # sandbox
    "sandbox_title": ("Testbetaling", "Test payment"),
    "sandbox_body": ("Dit is de sandbox van Settle: er gaat geen echt geld over. Kies hoe de betaling afloopt.",
                     "This is Settle's sandbox: no real money moves. Choose how the payment ends."),
    "sandbox_amount": ("Te betalen", "Amount"),
    "sandbox_paid": ("Betaald", "Paid"),
    "sandbox_failed": ("Mislukt", "Failed"),
    "sandbox_canceled": ("Geannuleerd", "Cancelled"),
    "sandbox_done": ("Deze testbetaling is al afgerond: {status}.", "This test payment is already finished: {status}."),
    # errors
    "nf_title": ("Deze pagina bestaat niet", "This page does not exist"),
    "nf_body": ("Gebruik de volledige link uit uw e-mail. Werkt die niet, "
                "neem dan contact op met de afzender van de e-mail.",
                "Use the complete link from your e-mail. If it does not work, contact the sender of the e-mail."),
    "gone_title": ("Deze link werkt niet meer", "This link no longer works"),
    "gone_body": ("Om uw gegevens te beschermen werkt een link maar een tijd. Vraag een nieuwe aan: "
                  "wij sturen die naar het e-mailadres dat bij ons bekend is.",
                  "To protect your details a link only works for a while. Ask for a new one: "
                  "we send it to the e-mail address we have on file."),
    "gone_button": ("Stuur mij een nieuwe link", "Send me a new link"),
    "renewed_title": ("Kijk in uw mailbox", "Check your mailbox"),
    "renewed_body": ("Als wij een e-mailadres van u hebben, ontvangt u binnen enkele minuten een nieuwe link.",
                     "If we have an e-mail address for you, a new link will arrive within a few minutes."),
    "slow_title": ("Even geduld", "Please wait a moment"),
    "slow_body": ("Dat ging wel erg vaak achter elkaar. Probeer het over een paar minuten opnieuw.",
                  "That was a lot of tries in a short time. Please try again in a few minutes."),
    "busy_title": ("Het is even erg druk", "We are very busy right now"),
    "busy_body": ("Uw overzicht kon niet op tijd worden geladen. Probeer het over enkele seconden opnieuw.",
                  "Your statement could not be loaded in time. Please try again in a few seconds."),
    "ended_title": ("Uw sessie is afgelopen", "Your session has ended"),
    "ended_body": ("Open de link uit uw meest recente e-mail opnieuw.",
                   "Open the link in your most recent e-mail again."),
    "csrf_title": ("Dit formulier is verlopen", "This form has expired"),
    "csrf_body": ("Laad de pagina opnieuw en probeer het nog eens.", "Reload the page and try again."),
    "error_title": ("Er ging iets mis", "Something went wrong"),
    "error_body": ("Probeer het later opnieuw. Er is niets veranderd.", "Please try again later. Nothing was changed."),
    # mailbox
    "mailbox": ("Postvak (demo)", "Mailbox (demo)"),
    "mailbox_intro": ("De e-mails in de outbox, nieuwste eerst. Alleen zichtbaar met sandbox-betalingen aan.",
                      "The e-mails in the outbox, newest first. Only shown while sandbox payments are on."),
    "mailbox_empty": ("Nog geen e-mails.", "No e-mails yet."),
    "mailbox_view": ("Bekijk e-mail", "View e-mail"),
    "mailbox_link": ("Open de portaallink", "Open the portal link"),
}


# How a debtor knows a payment method; a method not listed here shows its provider's name for it.
METHOD_NAMES: dict[str, tuple[str, str]] = {
    "ideal": ("iDEAL", "iDEAL"), "bancontact": ("Bancontact", "Bancontact"),
    "creditcard": ("creditcard", "credit card"), "card": ("kaart", "card"),
    "applepay": ("Apple Pay", "Apple Pay"), "paypal": ("PayPal", "PayPal"),
    "banktransfer": ("overboeking", "bank transfer"), "sepa_debit": ("SEPA-incasso", "SEPA Direct Debit"),
    "belfius": ("Belfius", "Belfius"), "kbc": ("KBC/CBC", "KBC/CBC"), "eps": ("EPS", "EPS"),
    "klarna": ("Klarna", "Klarna"), "przelewy24": ("Przelewy24", "Przelewy24"), "p24": ("Przelewy24", "Przelewy24"),
    "sofort": ("SOFORT", "SOFORT"), "giropay": ("giropay", "giropay"), "trustly": ("Trustly", "Trustly"),
    "twint": ("TWINT", "TWINT"), "link": ("Link", "Link"), "revolut_pay": ("Revolut Pay", "Revolut Pay"),
    "in3": ("in3", "in3"), "billie": ("Billie", "Billie"), "riverty": ("Riverty", "Riverty"),
}  # fmt: skip


def methods_label(methods: list[str], lang: str) -> str:
    """``iDEAL, Bancontact of creditcard``: the methods a provider offers, as a debtor reads them."""
    index = 0 if lang == "nl" else 1
    names = [METHOD_NAMES[m][index] if m in METHOD_NAMES else m for m in methods]
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {('of', 'or')[index]} {names[-1]}"


class Translator:
    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGS else "nl"
        self._i = LANGS.index(self.lang)

    def __call__(self, key: str, **values: Any) -> str:
        text = STRINGS[key][self._i]
        return text.format(**values) if values else text

    def methods(self, methods: list[str]) -> str:
        return methods_label(methods, self.lang)


def pick(*candidates: str | None) -> str:
    """The first candidate that is a language the portal speaks; Dutch otherwise."""
    for c in candidates:
        if c in LANGS:
            return c
    return "nl"


def from_accept_language(header: str | None) -> str | None:
    for part in (header or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    return None
