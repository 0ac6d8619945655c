"""The portal's words in Dutch, French and English. Templates call ``t('key', name=…)``.

One entry per key, each language by name (``W(nl=…, fr=…, en=…)``): a language cannot be
left out (the call fails), nor can two be swapped by position. A country's own wording goes beside
them under its variant (``nl_BE=…`` for Dutch to a Belgian debtor, see ``domain.locales``) and is
used before the plain language's when the debtor is in that country.
"""

from __future__ import annotations

from typing import Any

from domain.locales import DEFAULT_LANGUAGE, LANGUAGES, NATIVE_NAMES, variant

LANGS = LANGUAGES


def W(*, nl: str, fr: str, en: str, **variants: str) -> dict[str, str]:
    """One string in every language Settle speaks, plus country variants (``nl_BE`` → ``nl-BE``)."""
    return {"nl": nl, "fr": fr, "en": en, **{k.replace("_", "-"): v for k, v in variants.items()}}


STRINGS: dict[str, dict[str, str]] = {
    # layout
    "skip": W(nl="Naar de inhoud", fr="Aller au contenu", en="Skip to content"),
    "language": W(nl="Taal", fr="Langue", en="Language"),
    "sign_out": W(nl="Afmelden", fr="Se déconnecter", en="Sign out"),
    "signed_out_title": W(nl="U bent afgemeld", fr="Déconnexion effectuée", en="You have signed out"),
    "signed_out_body": W(
        nl="Open de link uit uw e-mail om weer verder te gaan.",
        fr="Ouvrez le lien figurant dans votre e-mail pour continuer.",
        en="Open the link in your e-mail to continue.",
    ),
    "footer": W(
        nl="Deze pagina is alleen voor u bedoeld. Deel de link niet.",
        fr="Cette page vous est strictement personnelle. Ne partagez pas le lien.",
        en="This page is meant for you only. Please do not share the link.",
    ),
    # statement
    "title": W(nl="Uw rekeningoverzicht", fr="Votre relevé de compte", en="Your account statement"),
    "for": W(nl="voor {name}", fr="pour {name}", en="for {name}"),
    "total_due": W(nl="Totaal te betalen", fr="Total dû", en="Total due"),
    "nothing_open": W(
        nl="Er staat niets meer open. Dank u wel!",
        fr="Plus aucun montant n’est dû. Merci !",
        en="Nothing is open any more. Thank you!",
    ),
    "pay_all": W(nl="Alles betalen", fr="Tout payer", en="Pay everything"),
    "pay_all_amount": W(nl="Betaal alles: {amount}", fr="Tout payer : {amount}", en="Pay everything: {amount}"),
    "pay_selected": W(
        nl="Betaal geselecteerde facturen",
        fr="Payer les factures sélectionnées",
        en="Pay selected invoices",
    ),
    "pay_one": W(nl="Betaal {amount}", fr="Payer {amount}", en="Pay {amount}"),
    "pay_one_which": W(nl="(factuur {number})", fr="(facture {number})", en="(invoice {number})"),
    "excl_disputed": W(
        nl="Betwiste facturen tellen hier niet mee.",
        fr="Les factures contestées ne sont pas comprises dans ce montant.",
        en="Disputed invoices are not included.",
    ),
    "provider": W(nl="Betaalmethode", fr="Mode de paiement", en="Payment method"),
    "provider_sandbox": W(
        nl="Testbetaling (sandbox, geen echt geld)",
        fr="Paiement d’essai (simulation, aucun argent réel)",
        en="Test payment (sandbox, no real money)",
    ),
    "provider_mollie": W(
        nl="iDEAL, Bancontact of creditcard",
        fr="iDEAL, Bancontact ou carte de crédit",
        en="iDEAL, Bancontact or credit card",
    ),
    "provider_stripe": W(nl="Kaart of iDEAL", fr="Carte ou iDEAL", en="Card or iDEAL"),
    "no_online": W(
        nl="Online betalen is nu niet mogelijk; maak het bedrag over.",
        fr="Le paiement en ligne n’est pas disponible pour le moment ; veuillez effectuer un virement.",
        en="Paying online is not available right now; please transfer the amount.",
    ),
    "invoices": W(nl="Openstaande facturen", fr="Factures impayées", en="Open invoices"),
    "col_select": W(nl="Kies", fr="Choisir", en="Choose"),
    "col_invoice": W(nl="Factuur", fr="Facture", en="Invoice"),
    "col_date": W(nl="Datum", fr="Date", en="Date"),
    "col_due": W(nl="Vervaldatum", fr="Échéance", en="Due date"),
    "col_overdue": W(nl="Dagen te laat", fr="Jours de retard", en="Days overdue"),
    "col_amount": W(nl="Bedrag", fr="Montant", en="Amount"),
    "col_open": W(nl="Open", fr="Restant dû", en="Open"),
    "col_extras": W(nl="Kosten en rente", fr="Frais et intérêts", en="Costs and interest"),
    "col_actions": W(nl="Acties", fr="Actions", en="Actions"),
    "select_invoice": W(nl="Kies factuur {number}", fr="Choisir la facture {number}", en="Choose invoice {number}"),
    "pdf": W(nl="PDF", fr="PDF", en="PDF"),
    "pdf_label": W(
        nl="Factuur {number} als PDF (opent elders)",
        fr="Facture {number} en PDF (s’ouvre dans un nouvel onglet)",
        en="Invoice {number} as PDF (opens elsewhere)",
    ),
    "reference": W(nl="Betalingskenmerk", fr="Référence de paiement", en="Payment reference"),
    "reference_ogm": W(nl="Gestructureerde mededeling", fr="Communication structurée", en="Structured communication"),
    "status_disputed": W(
        nl="Betwist: wij kijken ernaar",
        fr="Contestée : nous examinons votre demande",
        en="Disputed: we are looking into it",
    ),
    "status_paused": W(nl="Gepauzeerd tot {date}", fr="Suspendue jusqu’au {date}", en="On hold until {date}"),
    "status_in_collection": W(
        nl="Bij het incassobureau",
        fr="Confiée au bureau de recouvrement",
        en="With the collection agency",
    ),
    "not_due": W(nl="nog niet", fr="pas encore", en="not yet"),
    "principal": W(nl="Hoofdsom", fr="Montant principal", en="Principal"),
    "fees": W(nl="Aanmaningskosten", fr="Frais de rappel", en="Reminder fees"),
    "costs": W(nl="Incassokosten", fr="Frais de recouvrement", en="Collection costs"),
    "interest": W(nl="Wettelijke rente", fr="Intérêts de retard", en="Statutory interest"),
    # The same under Belgian law (the creditor's): Book XIX's damages, the 2002 law's interest.
    "costs_be": W(nl="Forfaitaire vergoeding", fr="Indemnité forfaitaire", en="Flat-rate damages"),
    "interest_be": W(nl="Verwijlinteresten", fr="Intérêts de retard", en="Late-payment interest"),
    "transfer": W(
        nl="Liever overmaken? Naar {iban} t.n.v. {name}, met het betalingskenmerk van de factuur.",
        fr="Vous préférez payer par virement ? Versez le montant sur le compte {iban} au nom de {name}, en mentionnant"
        " la référence de paiement de la facture.",
        en="Prefer a bank transfer? To {iban}, {name}, quoting the invoice's payment reference.",
    ),
    "transfer_ogm": W(
        nl="Liever overschrijven? Naar {iban} t.n.v. {name}, met de gestructureerde mededeling van de factuur.",
        fr="Vous préférez payer par virement ? Versez le montant sur le compte {iban} au nom de {name}, en mentionnant"
        " la communication structurée de la facture.",
        en="Prefer a bank transfer? To {iban}, {name}, quoting the invoice's structured communication.",
    ),
    "payments": W(nl="Recente betalingen", fr="Paiements récents", en="Recent payments"),
    "no_payments": W(nl="Nog geen betalingen.", fr="Aucun paiement pour l’instant.", en="No payments yet."),
    "payment_paid": W(nl="ontvangen", fr="reçu", en="received"),
    "payment_pending": W(nl="in behandeling", fr="en cours de traitement", en="processing"),
    "contact": W(nl="Vragen? Neem contact op", fr="Des questions ? Contactez-nous", en="Questions? Get in touch"),
    # respond
    "respond_title": W(nl="Klopt er iets niet?", fr="Quelque chose ne va pas ?", en="Something not right?"),
    "respond_intro": W(
        nl="Laat het ons weten. Zolang wij een betwiste factuur bekijken, krijgt u er geen herinneringen over.",
        fr="Faites-le-nous savoir. Tant que nous examinons une facture que vous contestez, vous ne recevez aucun "
        "rappel à son sujet.",
        en="Tell us. While we look at an invoice you dispute, you get no reminders about it.",
    ),
    "kind": W(nl="Wat wilt u doen?", fr="Que souhaitez-vous faire ?", en="What would you like to do?"),
    "kind_dispute": W(
        nl="Ik ben het niet eens met een factuur",
        fr="Je conteste une facture",
        en="I dispute an invoice",
    ),
    "kind_extension": W(
        nl="Ik heb meer tijd nodig (uitstel)",
        fr="J’ai besoin de plus de temps (délai de paiement)",
        en="I need more time (extension)",
    ),
    "kind_promise": W(nl="Ik betaal op een datum", fr="Je paierai à une date précise", en="I will pay on a date"),
    "which_invoices": W(nl="Over welke facturen?", fr="Quelles factures sont concernées ?", en="Which invoices?"),
    "which_hint": W(
        nl="Bij uitstel of een betaalbelofte: niets gekozen is alles.",
        fr="Pour un délai ou une promesse de paiement : si vous n’en choisissez aucune, toutes sont concernées.",
        en="For an extension or a promise: none chosen means all.",
    ),
    "reason": W(nl="Reden (bij betwisten)", fr="Motif (en cas de contestation)", en="Reason (when disputing)"),
    "reason_none": W(nl="Kies een reden", fr="Choisissez un motif", en="Choose a reason"),
    "reason_not_received": W(
        nl="Niet ontvangen of niet geleverd",
        fr="Non reçu ou non livré",
        en="Not received or not delivered",
    ),
    "reason_wrong_amount": W(nl="Het bedrag klopt niet", fr="Le montant est inexact", en="The amount is wrong"),
    "reason_already_paid": W(nl="Ik heb al betaald", fr="J’ai déjà payé", en="I already paid"),
    "reason_quality": W(
        nl="Niet tevreden over de levering",
        fr="La livraison ne me satisfait pas",
        en="Not satisfied with the delivery",
    ),
    "reason_other": W(nl="Iets anders", fr="Autre motif", en="Something else"),
    "date": W(
        nl="Datum (bij uitstel of betaalbelofte)",
        fr="Date (pour un délai ou une promesse de paiement)",
        en="Date (for an extension or a promise)",
    ),
    "date_extension": W(
        nl="Nieuwe vervaldatum (bij uitstel)",
        fr="Nouvelle échéance (pour un délai)",
        en="New due date (for an extension)",
    ),
    "date_promise": W(
        nl="Datum waarop u betaalt (bij een betaalbelofte)",
        fr="Date à laquelle vous paierez (pour une promesse de paiement)",
        en="Date you will pay (for a promise)",
    ),
    "date_hint_extension": W(
        nl="Uiterlijk {date}: uitstel kan tot {days} dagen na de vervaldatum.",
        fr="Au plus tard le {date} : un délai peut courir jusqu’à {days} jours après l’échéance.",
        en="By {date} at the latest: an extension can run to {days} days after the due date.",
    ),
    "date_hint_promise": W(nl="Uiterlijk {date}.", fr="Au plus tard le {date}.", en="By {date} at the latest."),
    "excl_collection": W(
        nl="Facturen die bij het incassobureau liggen, betaalt u via het incassobureau; ze tellen hier niet mee.",
        fr="Les factures confiées au bureau de recouvrement se règlent auprès de celui-ci ; elles ne sont pas "
        "comprises ici.",
        en="Invoices with the collection agency are paid through the agency and are not included here.",
    ),
    "with_agency": W(
        nl="Ligt bij het incassobureau: betaal via hen",
        fr="Confiée au bureau de recouvrement : réglez-la auprès de celui-ci",
        en="With the collection agency: pay through them",
    ),
    "date_hint": W(
        nl="Uitstel kan tot {days} dagen na de vervaldatum.",
        fr="Un délai peut courir jusqu’à {days} jours après l’échéance.",
        en="An extension can run to {days} days after the due date.",
    ),
    "message": W(nl="Toelichting", fr="Précisions", en="Message"),
    "send": W(nl="Versturen", fr="Envoyer", en="Send"),
    "sent": W(
        nl="Dank u wel, wij hebben uw verzoek ontvangen. U hoort van ons.",
        fr="Merci, nous avons bien reçu votre demande. Nous reviendrons vers vous.",
        en="Thank you, we received your request. We will get back to you.",
    ),
    "requests": W(nl="Uw verzoeken", fr="Vos demandes", en="Your requests"),
    "req_dispute": W(nl="Betwisting", fr="Contestation", en="Dispute"),
    "req_extension": W(nl="Uitstel tot {date}", fr="Délai jusqu’au {date}", en="Extension to {date}"),
    "req_promise": W(
        nl="Betaalbelofte voor {date}",
        fr="Promesse de paiement au plus tard le {date}",
        en="Promise to pay by {date}",
    ),
    "req_open": W(nl="wordt bekeken", fr="en cours d’examen", en="being reviewed"),
    "req_accepted": W(nl="geaccepteerd", fr="acceptée", en="accepted"),
    "req_rejected": W(nl="afgewezen", fr="refusée", en="rejected"),
    "form_errors": W(
        nl="Controleer het formulier:",
        fr="Veuillez vérifier le formulaire :",
        en="Please check the form:",
    ),
    "err_kind": W(
        nl="Kies wat u wilt doen.",
        fr="Choisissez ce que vous souhaitez faire.",
        en="Choose what you would like to do.",
    ),
    "err_invoice_ids": W(
        nl="Kies een of meer van uw openstaande facturen.",
        fr="Choisissez une ou plusieurs de vos factures impayées.",
        en="Choose one or more of your open invoices.",
    ),
    "err_reason": W(nl="Kies een reden.", fr="Choisissez un motif.", en="Choose a reason."),
    "err_message": W(
        nl="Vertel ons wat er niet klopt (hoogstens 2000 tekens).",
        fr="Dites-nous ce qui ne va pas (2000 caractères au maximum).",
        en="Tell us what is wrong (2000 characters at most).",
    ),
    "err_date": W(
        nl="Kies een datum na vandaag en uiterlijk {limit}.",
        fr="Choisissez une date postérieure à aujourd’hui et au plus tard le {limit}.",
        en="Choose a date after today and by {limit}.",
    ),
    "err_date_plain": W(
        nl="Kies een datum na vandaag.",
        fr="Choisissez une date postérieure à aujourd’hui.",
        en="Choose a date after today.",
    ),
    "err_provider": W(
        nl="Deze betaalmethode is niet beschikbaar.",
        fr="Ce mode de paiement n’est pas disponible.",
        en="This payment method is not available.",
    ),
    "err_currency": W(
        nl="Betaal facturen in verschillende valuta apart.",
        fr="Payez séparément les factures libellées dans des devises différentes.",
        en="Pay invoices in different currencies separately.",
    ),
    "err_nothing": W(
        nl="Er staat niets open om te betalen.",
        fr="Il n’y a rien à payer.",
        en="There is nothing open to pay.",
    ),
    # payment
    "pay_title": W(nl="Uw betaling", fr="Votre paiement", en="Your payment"),
    "pay_pending": W(
        nl="Uw betaling wordt verwerkt",
        fr="Votre paiement est en cours de traitement",
        en="Your payment is being processed",
    ),
    "pay_pending_body": W(
        nl="Dit duurt meestal een paar seconden. Deze pagina werkt zichzelf bij.",
        fr="Cela ne prend généralement que quelques secondes. Cette page se met à jour automatiquement.",
        en="This usually takes a few seconds. This page updates itself.",
    ),
    "pay_paid": W(nl="Betaling ontvangen. Dank u wel!", fr="Paiement reçu. Merci !", en="Payment received. Thank you!"),
    "pay_paid_body": W(
        nl="Wij hebben {amount} ontvangen. U krijgt een bevestiging per e-mail.",
        fr="Nous avons bien reçu {amount}. Une confirmation vous est envoyée par e-mail.",
        en="We received {amount}. A confirmation is on its way by e-mail.",
    ),
    "pay_failed": W(
        nl="De betaling is niet gelukt",
        fr="Le paiement n’a pas abouti",
        en="The payment did not go through",
    ),
    "pay_canceled": W(nl="De betaling is geannuleerd", fr="Le paiement a été annulé", en="The payment was cancelled"),
    "pay_expired": W(nl="De betaling is verlopen", fr="Le paiement a expiré", en="The payment expired"),
    "pay_failed_body": W(
        nl="Er is niets afgeschreven. U kunt het opnieuw proberen.",
        fr="Aucun montant n’a été débité. Vous pouvez réessayer.",
        en="Nothing was charged. You can try again.",
    ),
    "back": W(nl="Terug naar uw overzicht", fr="Retour à votre relevé", en="Back to your statement"),
    "pay_retry": W(
        nl="Probeer opnieuw: betaal {amount}",
        fr="Réessayer : payer {amount}",
        en="Try again: pay {amount}",
    ),
    "receipt": W(nl="Betalingsbewijs", fr="Reçu de paiement", en="Receipt"),
    "receipt_to": W(nl="Betaald aan", fr="Payé à", en="Paid to"),
    "receipt_from": W(nl="Betaald door", fr="Payé par", en="Paid by"),
    "receipt_amount": W(nl="Bedrag", fr="Montant", en="Amount"),
    "receipt_date": W(nl="Datum", fr="Date", en="Date"),
    "receipt_method": W(nl="Betaalmethode", fr="Mode de paiement", en="Payment method"),
    "receipt_provider_ref": W(
        nl="Referentie betaalprovider",
        fr="Référence du prestataire de paiement",
        en="Payment provider reference",
    ),
    "receipt_description": W(nl="Omschrijving", fr="Description", en="Description"),
    "receipt_paid": W(nl="Betaald", fr="Payé", en="Paid"),
    "receipt_still_open": W(nl="Nog open", fr="Restant dû", en="Still open"),
    "receipt_credit": W(
        nl="{amount} stond niet meer open; wij houden het als tegoed voor u.",
        fr="{amount} n’était plus dû ; nous le conservons en votre faveur sous forme d’avoir.",
        en="{amount} was no longer due; we hold it as a credit for you.",
    ),
    "receipt_print": W(
        nl="Bewaar dit bewijs: druk deze pagina af of sla hem op als PDF (alleen het bewijs komt op papier).",
        fr="Conservez ce reçu : imprimez cette page ou enregistrez-la en PDF (seul le reçu est imprimé).",
        en="Keep this receipt: print this page or save it as a PDF (only the receipt is printed).",
    ),
    "provider_down": W(
        nl="De betaalprovider is nu niet bereikbaar",
        fr="Le prestataire de paiement est injoignable pour le moment",
        en="The payment provider cannot be reached",
    ),
    "provider_down_body": W(
        nl="Er is niets afgeschreven. Probeer het over een paar minuten opnieuw, of maak het bedrag over.",
        fr="Aucun montant n’a été débité. Réessayez dans quelques minutes ou effectuez un virement.",
        en="Nothing was charged. Try again in a few minutes, or transfer the amount.",
    ),
    # sandbox
    "sandbox_title": W(nl="Testbetaling", fr="Paiement d’essai", en="Test payment"),
    "sandbox_body": W(
        nl="Dit is de sandbox van Settle: er gaat geen echt geld over. Kies hoe de betaling afloopt.",
        fr="Ceci est l’environnement d’essai de Settle : aucun argent réel n’est transféré. Choisissez l’issue du "
        "paiement.",
        en="This is Settle's sandbox: no real money moves. Choose how the payment ends.",
    ),
    "sandbox_amount": W(nl="Te betalen", fr="À payer", en="Amount"),
    "sandbox_paid": W(nl="Betaald", fr="Payé", en="Paid"),
    "sandbox_failed": W(nl="Mislukt", fr="Échoué", en="Failed"),
    "sandbox_canceled": W(nl="Geannuleerd", fr="Annulé", en="Cancelled"),
    "sandbox_done": W(
        nl="Deze testbetaling is al afgerond: {status}.",
        fr="Ce paiement d’essai est déjà terminé : {status}.",
        en="This test payment is already finished: {status}.",
    ),
    # errors
    "nf_title": W(nl="Deze pagina bestaat niet", fr="Cette page n’existe pas", en="This page does not exist"),
    "nf_body": W(
        nl="Gebruik de volledige link uit uw e-mail. Werkt die niet, neem dan contact op met de afzender van de "
        "e-mail.",
        fr="Utilisez le lien complet figurant dans votre e-mail. S’il ne fonctionne pas, contactez l’expéditeur de "
        "l’e-mail.",
        en="Use the complete link from your e-mail. If it does not work, contact the sender of the e-mail.",
    ),
    "gone_title": W(nl="Deze link werkt niet meer", fr="Ce lien n’est plus valable", en="This link no longer works"),
    "gone_body": W(
        nl="Om uw gegevens te beschermen werkt een link maar een tijd. Vraag een nieuwe aan: wij sturen die naar het "
        "e-mailadres dat bij ons bekend is.",
        fr="Pour protéger vos données, un lien n’est valable que pendant un certain temps. Demandez-en un nouveau : "
        "nous l’enverrons à l’adresse e-mail que nous connaissons.",
        en="To protect your details a link only works for a while. Ask for a new one: we send it to the e-mail address"
        " we have on file.",
    ),
    "gone_button": W(nl="Stuur mij een nieuwe link", fr="Envoyez-moi un nouveau lien", en="Send me a new link"),
    "renewed_title": W(nl="Kijk in uw mailbox", fr="Consultez votre boîte de réception", en="Check your mailbox"),
    "renewed_body": W(
        nl="Als wij een e-mailadres van u hebben, ontvangt u binnen enkele minuten een nieuwe link.",
        fr="Si nous disposons de votre adresse e-mail, vous recevrez un nouveau lien d’ici quelques minutes.",
        en="If we have an e-mail address for you, a new link will arrive within a few minutes.",
    ),
    "slow_title": W(nl="Even geduld", fr="Un instant, s’il vous plaît", en="Please wait a moment"),
    "slow_body": W(
        nl="Dat ging wel erg vaak achter elkaar. Probeer het over een paar minuten opnieuw.",
        fr="Vous avez fait beaucoup de tentatives en peu de temps. Réessayez dans quelques minutes.",
        en="That was a lot of tries in a short time. Please try again in a few minutes.",
    ),
    "busy_title": W(
        nl="Het is even erg druk",
        fr="Nous sommes très sollicités en ce moment",
        en="We are very busy right now",
    ),
    "busy_body": W(
        nl="Uw overzicht kon niet op tijd worden geladen. Probeer het over enkele seconden opnieuw.",
        fr="Votre relevé n’a pas pu être chargé à temps. Réessayez dans quelques secondes.",
        en="Your statement could not be loaded in time. Please try again in a few seconds.",
    ),
    "ended_title": W(nl="Uw sessie is afgelopen", fr="Votre session a expiré", en="Your session has ended"),
    "ended_body": W(
        nl="Open de link uit uw meest recente e-mail opnieuw.",
        fr="Ouvrez à nouveau le lien figurant dans votre e-mail le plus récent.",
        en="Open the link in your most recent e-mail again.",
    ),
    "csrf_title": W(nl="Dit formulier is verlopen", fr="Ce formulaire a expiré", en="This form has expired"),
    "csrf_body": W(
        nl="Laad de pagina opnieuw en probeer het nog eens.",
        fr="Rechargez la page et réessayez.",
        en="Reload the page and try again.",
    ),
    "error_title": W(nl="Er ging iets mis", fr="Une erreur s’est produite", en="Something went wrong"),
    "error_body": W(
        nl="Probeer het later opnieuw. Er is niets veranderd.",
        fr="Veuillez réessayer plus tard. Rien n’a été modifié.",
        en="Please try again later. Nothing was changed.",
    ),
    # a Belgian consumer's waiting period after the first reminder (art. XIX.2 WER)
    "book_xix_title": W(
        nl="Betalen zonder bijkomende kosten", fr="Payer sans frais supplémentaires", en="Pay without further costs"
    ),
    "book_xix_body": W(
        nl="U kunt zonder bijkomende kosten betalen tot en met {date}. Tot dan kunt u ons ook om een afbetalingsplan "
        "vragen (boek XIX van het Wetboek van economisch recht).",
        fr="Vous pouvez payer sans frais supplémentaires jusqu’au {date} inclus. D’ici là, vous pouvez aussi nous "
        "demander un plan de paiement (livre XIX du Code de droit économique).",
        en="You can pay without further costs up to and including {date}. Until then you may also ask us for a "
        "payment plan (Book XIX of the Belgian Code of Economic Law).",
    ),
    "book_xix_ask": W(
        nl="Vraag een afbetalingsplan of meer tijd",
        fr="Demander un plan de paiement ou un délai",
        en="Ask for a payment plan or more time",
    ),
    # the debtor's letters, as posted
    "letters_title": W(nl="Uw brieven", fr="Vos lettres", en="Your letters"),
    "letter_formal_notice": W(nl="Ingebrekestelling", fr="Mise en demeure", en="Notice of default"),
    "letter_collection_handover": W(
        nl="Overdracht aan het incassobureau",
        fr="Transmission au bureau de recouvrement",
        en="Hand-over to the collection agency",
    ),
    "letter_posted": W(nl="verstuurd op", fr="envoyée le", en="posted on"),
    # mailbox
    "mailbox": W(nl="Postvak (demo)", fr="Boîte de réception (démo)", en="Mailbox (demo)"),
    "mailbox_intro": W(
        nl="De e-mails in de outbox, nieuwste eerst. Alleen zichtbaar met sandbox-betalingen aan.",
        fr="Les e-mails en attente d’envoi et envoyés, du plus récent au plus ancien. Visible uniquement lorsque les "
        "paiements d’essai sont activés.",
        en="The e-mails in the outbox, newest first. Only shown while sandbox payments are on.",
    ),
    "mailbox_empty": W(nl="Nog geen e-mails.", fr="Aucun e-mail pour l’instant.", en="No e-mails yet."),
    "mailbox_view": W(nl="Bekijk e-mail", fr="Voir l’e-mail", en="View e-mail"),
    "mailbox_link": W(nl="Open de portaallink", fr="Ouvrir le lien vers le portail", en="Open the portal link"),
}


# How a debtor knows a payment method; a method not listed here shows its provider's name for it.
METHOD_NAMES: dict[str, dict[str, str]] = {
    "ideal": W(nl="iDEAL", fr="iDEAL", en="iDEAL"),
    "bancontact": W(nl="Bancontact", fr="Bancontact", en="Bancontact"),
    "creditcard": W(nl="creditcard", fr="carte de crédit", en="credit card"),
    "card": W(nl="kaart", fr="carte", en="card"),
    "applepay": W(nl="Apple Pay", fr="Apple Pay", en="Apple Pay"),
    "paypal": W(nl="PayPal", fr="PayPal", en="PayPal"),
    "banktransfer": W(nl="overboeking", fr="virement", en="bank transfer"),
    "sepa_debit": W(nl="SEPA-incasso", fr="domiciliation SEPA", en="SEPA Direct Debit", nl_BE="SEPA-domiciliëring"),
    "belfius": W(nl="Belfius", fr="Belfius", en="Belfius"),
    "kbc": W(nl="KBC/CBC", fr="KBC/CBC", en="KBC/CBC"),
    "eps": W(nl="EPS", fr="EPS", en="EPS"),
    "klarna": W(nl="Klarna", fr="Klarna", en="Klarna"),
    "przelewy24": W(nl="Przelewy24", fr="Przelewy24", en="Przelewy24"),
    "p24": W(nl="Przelewy24", fr="Przelewy24", en="Przelewy24"),
    "sofort": W(nl="SOFORT", fr="SOFORT", en="SOFORT"),
    "giropay": W(nl="giropay", fr="giropay", en="giropay"),
    "trustly": W(nl="Trustly", fr="Trustly", en="Trustly"),
    "twint": W(nl="TWINT", fr="TWINT", en="TWINT"),
    "link": W(nl="Link", fr="Link", en="Link"),
    "revolut_pay": W(nl="Revolut Pay", fr="Revolut Pay", en="Revolut Pay"),
    "in3": W(nl="in3", fr="in3", en="in3"),
    "billie": W(nl="Billie", fr="Billie", en="Billie"),
    "riverty": W(nl="Riverty", fr="Riverty", en="Riverty"),
}
# The word before the last of a list of methods ("iDEAL, Bancontact of creditcard").
_OR = W(nl="of", fr="ou", en="or")


def _in(entry: dict[str, str], lang: str, region: str | None) -> str:
    """An entry's words for the language, its country's variant first when it has one."""
    return entry.get(region or "") or entry[lang]


def methods_label(methods: list[str], lang: str, region: str | None = None) -> str:
    """``iDEAL, Bancontact of creditcard``: the methods a provider offers, as a debtor reads them."""
    lang = pick(lang)
    names = [_in(METHOD_NAMES[m], lang, region) if m in METHOD_NAMES else m for m in methods]
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {_in(_OR, lang, region)} {names[-1]}"


class Translator:
    """``t('key', **values)`` in one language; ``country`` (the debtor's) picks a variant's words
    where an entry has them (``nl-BE``), else the language's."""

    def __init__(self, lang: str, country: str | None = None) -> None:
        self.lang = pick(lang)
        self.region = variant(self.lang, country)

    def __call__(self, key: str, **values: Any) -> str:
        text = _in(STRINGS[key], self.lang, self.region)
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        """Whether ``key`` has words (a template naming a key built from data checks first)."""
        return key in STRINGS

    def methods(self, methods: list[str]) -> str:
        return methods_label(methods, self.lang, self.region)

    def others(self) -> list[tuple[str, str]]:
        """The languages to switch to, each as ``(code, name in itself)``, in the order of ``LANGS``."""
        return [(code, NATIVE_NAMES[code]) for code in LANGS if code != self.lang]


def pick(*candidates: str | None) -> str:
    """The first candidate that is a language the portal speaks; Dutch otherwise."""
    for c in candidates:
        if c in LANGS:
            return c
    return DEFAULT_LANGUAGE


def from_accept_language(header: str | None) -> str | None:
    """The language the browser prefers most among those the portal speaks (``fr-BE,fr;q=0.9,nl;q=0.8``
    is French), by the header's quality values; ``None`` when it names none of them."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.partition(";")
        code = tag.strip().lower()[:2]
        quality = 1.0
        for param in params.split(";"):
            name, _, raw = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(raw)
                except ValueError:
                    quality = 0.0
        if code in LANGS and quality > 0:
            ranked.append((-quality, position, code))
    return min(ranked)[2] if ranked else None


# The payment plan section's words live beside its view (issue 17).
from portal.arrangement_view import ARRANGEMENT_STRINGS  # noqa: E402

STRINGS.update(ARRANGEMENT_STRINGS)
