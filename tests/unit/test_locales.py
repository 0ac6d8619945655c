"""Three languages, everywhere a debtor reads: every portal string, e-mail template and label exists
in Dutch, French and English; French money and dates are Babel's, as a Belgian reader sees them;
a browser's Accept-Language and a Belgian debtor's Dutch variant pick the right words."""

from __future__ import annotations

import datetime as dt
import re
import string
import typing
from pathlib import Path

import pytest
from jinja2 import DictLoader, Environment

from adapters.rendering import TEMPLATES_DIR, environment, long_date, money, short_date, words_template
from api.schemas import Locale
from domain import customers, policies
from domain.locales import LANGUAGES, NATIVE_NAMES, language, variant
from portal.i18n import METHOD_NAMES, STRINGS, Translator, from_accept_language, methods_label
from tests.language import foreign_words

EMAIL = TEMPLATES_DIR / "email"
NNBSP, NBSP = "\u202f", "\u00a0"


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# --- one list of languages -----------------------------------------------------------------------


def test_customers_choose_dutch_french_or_english_in_the_api_the_domain_and_the_templates() -> None:
    assert LANGUAGES == ("nl", "fr", "en")
    assert set(typing.get_args(Locale)) == set(LANGUAGES)
    assert customers.LOCALES == LANGUAGES and policies.TEMPLATE_LOCALES == LANGUAGES
    assert set(NATIVE_NAMES) == set(LANGUAGES)


def test_an_unknown_stored_language_reads_as_dutch_and_a_belgian_debtor_gets_the_belgian_variant() -> None:
    assert [language(x) for x in ("fr", "en", "nl", "de", None, "")] == ["fr", "en", "nl", "nl", "nl", "nl"]
    assert variant("nl", "BE") == "nl-BE" and variant("fr", "be") == "fr-BE" and variant("nl", "NL") == "nl-NL"
    assert variant("nl", None) is None and variant("nl", "DE") is None


# --- every string in every language ----------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(STRINGS))
def test_every_portal_string_is_in_every_language_with_the_same_placeholders(key: str) -> None:
    entry = STRINGS[key]
    assert set(LANGUAGES) <= set(entry), f"{key} lacks {set(LANGUAGES) - set(entry)}"
    for lang in LANGUAGES:
        assert entry[lang].strip(), f"{key} is empty in {lang}"
        assert placeholders(entry[lang]) == placeholders(entry["nl"]), f"{key}: {lang} names other values"
    for tag in set(entry) - set(LANGUAGES):  # a country's variant of a language
        assert tag.split("-")[0] in LANGUAGES and placeholders(entry[tag]) == placeholders(entry["nl"])


def test_every_payment_method_has_a_name_in_every_language() -> None:
    for method, names in METHOD_NAMES.items():
        assert set(LANGUAGES) <= set(names), method


def test_the_french_portal_strings_are_french() -> None:
    """Not a Dutch or English word in any French string (a copied placeholder text would show)."""
    found = {key: foreign_words(re.sub(r"\{\w+\}", " ", entry["fr"])) for key, entry in STRINGS.items()}
    assert {k: v for k, v in found.items() if v} == {}


def test_french_portal_strings_use_the_typographic_apostrophe() -> None:
    """« n’est », not « n'est »: one apostrophe throughout, as the e-mails write it."""
    assert [key for key, entry in STRINGS.items() if "'" in entry["fr"]] == []


def test_the_check_for_foreign_words_finds_dutch_and_english_and_not_french() -> None:
    assert foreign_words("Bekijk uw rekeningoverzicht") == ["bekijk", "rekeningoverzicht", "uw"]
    assert foreign_words("Pay your invoice") == ["invoice", "pay", "your"]
    assert foreign_words("Le montant total dû à l’échéance du 1er novembre, voir https://x.example/of/the") == []
    assert foreign_words("Brasserie Van Damme", allowed="Van Damme") == []


def email_names(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.j2")}


def test_every_email_kind_has_its_words_in_every_language() -> None:
    """The same templates in email/nl, email/fr and email/en; a language missing one fails here."""
    names = [email_names(EMAIL / lang) for lang in LANGUAGES]
    assert names[0], "no e-mail templates found"
    for lang, found in zip(LANGUAGES, names, strict=True):
        assert found == names[0], f"email/{lang} differs: {sorted(found ^ names[0])}"


@pytest.mark.parametrize("name", sorted(email_names(EMAIL / "nl")))
def test_each_language_of_an_email_defines_the_same_parts(name: str) -> None:
    env = environment()
    parts = {}
    for lang in LANGUAGES:
        module = env.get_template(f"email/{lang}/{name}").module
        parts[lang] = {n for n in dir(module) if not n.startswith("_")}
    assert parts["fr"] == parts["nl"] == parts["en"], parts


def test_country_variants_only_replace_emails_their_language_has() -> None:
    for folder in EMAIL.iterdir():
        if folder.is_dir() and "-" in folder.name:
            lang = folder.name.split("-")[0]
            assert lang in LANGUAGES and email_names(folder) <= email_names(EMAIL / lang), folder.name


LABEL_KEYS = re.findall(r"^ '(\w+)': \{", (EMAIL / "labels.j2").read_text(encoding="utf-8"), re.M)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_email_label_is_in_every_language(lang: str) -> None:
    assert len(LABEL_KEYS) > 15
    labels = environment().get_template("email/labels.j2").module
    for key in LABEL_KEYS:
        text = str(labels.label(key, lang))  # type: ignore[attr-defined]
        assert text.strip(), f"label {key!r} is missing in {lang}"
        if lang == "fr":
            assert foreign_words(text, allowed="KvK") == [], key
    # A country's variant falls back to its language's word where it has none of its own.
    assert str(labels.label("invoice", "nl-BE")) == "Factuur"  # type: ignore[attr-defined]


# --- French money and dates, as the reader sees them ----------------------------------------------


def test_french_money_is_babels_fr_be_with_a_narrow_no_break_space_between_thousands() -> None:
    assert money(123_456, "EUR", "fr") == f"1{NNBSP}234,56{NBSP}€"
    assert money(123_456_789, "EUR", "fr") == f"1{NNBSP}234{NNBSP}567,89{NBSP}€"
    assert money(5, "EUR", "fr") == f"0,05{NBSP}€"
    assert money(-4_000, "EUR", "fr") == f"-40,00{NBSP}€"
    # Dutch and English keep the forms their readers already get.
    assert money(123_456, "EUR", "nl") == "€ 1.234,56" and money(123_456, "EUR", "en") == "€1,234.56"


def test_babel_formats_french_money_alike_for_belgium_and_france() -> None:
    """Settle formats French as fr_BE; CLDR gives fr_BE and fr_FR the same pattern (checked, not assumed)."""
    from babel.numbers import format_currency

    assert format_currency(1234.5, "EUR", locale="fr_BE") == format_currency(1234.5, "EUR", locale="fr_FR")


def test_french_dates_spell_the_month_and_write_the_first_as_an_ordinal() -> None:
    assert long_date(dt.date(2026, 11, 4), "fr") == "4 novembre 2026"
    assert long_date(dt.date(2026, 11, 1), "fr") == "1er novembre 2026"
    assert long_date(dt.date(2027, 2, 11), "fr") == "11 février 2027"
    assert short_date(dt.date(2026, 11, 4), "fr") == "04/11/2026"
    assert long_date(dt.date(2026, 11, 1), "nl") == "1 november 2026"


# --- choosing the language ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-BE,fr;q=0.9,nl;q=0.8,en;q=0.7", "fr"),
        ("de-DE, en;q=0.5, fr;q=0.7", "fr"),  # the quality decides, not the order
        ("nl-BE", "nl"),
        ("en-GB,en;q=0.9", "en"),
        ("fr;q=0, en;q=0.1", "en"),  # q=0 means "not this one"
        ("de, it", None),
        ("", None),
        (None, None),
        ("fr;q=abc, nl", "nl"),
    ],
)
def test_the_portal_honours_the_browsers_preferred_language(header: str | None, expected: str | None) -> None:
    assert from_accept_language(header) == expected


def test_the_language_switch_offers_the_two_other_languages_each_in_its_own_name() -> None:
    assert Translator("fr").others() == [("nl", "Nederlands"), ("en", "English")]
    assert Translator("nl").others() == [("fr", "Français"), ("en", "English")]


def test_a_belgian_debtor_reading_dutch_gets_the_belgian_words_where_there_are_some() -> None:
    assert Translator("nl", "BE").methods(["ideal", "sepa_debit"]) == "iDEAL of SEPA-domiciliëring"
    assert Translator("nl", "NL").methods(["ideal", "sepa_debit"]) == "iDEAL of SEPA-incasso"
    assert Translator("nl", "BE")("total_due") == "Totaal te betalen"  # no variant: the language's
    assert methods_label(["bancontact", "creditcard"], "fr") == "Bancontact ou carte de crédit"


def test_a_country_variant_of_an_emails_words_is_used_for_that_country_only() -> None:
    env = Environment(loader=DictLoader({"email/nl/reminder.j2": "", "email/nl-BE/reminder.j2": "",
                                         "email/fr/reminder.j2": ""}))  # fmt: skip
    assert words_template(env, "nl", "BE", "reminder") == "email/nl-BE/reminder.j2"
    assert words_template(env, "nl", "NL", "reminder") == "email/nl/reminder.j2"
    assert words_template(env, "nl", None, "reminder") == "email/nl/reminder.j2"
    assert words_template(env, "fr", "BE", "reminder") == "email/fr/reminder.j2"  # no fr-BE of its own
    assert words_template(env, "xx", "BE", "reminder") == "email/nl-BE/reminder.j2"  # unknown: Dutch
