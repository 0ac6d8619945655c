"""The rules of a text message: segments as networks count them, quiet hours in the debtor's
time zone, STOP words, phone numbers as E.164, and the order delivery reports move in."""

from __future__ import annotations

import datetime as dt

import pytest

from domain import sms
from domain.errors import ValidationError
from domain.phones import is_mobile, to_e164

# --- segments -------------------------------------------------------------------------------


def test_160_gsm_characters_are_one_segment_and_161_are_two() -> None:
    assert sms.segments("a" * 160) == sms.Segments("GSM-7", 160, 1)
    assert sms.segments("a" * 161) == sms.Segments("GSM-7", 161, 2)
    assert sms.segments("a" * 306).count == 2  # 2 x 153
    assert sms.segments("a" * 307).count == 3


def test_extension_characters_count_twice_and_are_never_split_from_their_escape() -> None:
    assert sms.segments("€" * 80) == sms.Segments("GSM-7", 160, 1)
    assert sms.segments("€" * 80 + "a").count == 2
    for ch in "[]{}\\~^|€":
        assert sms.segments(ch).units == 2, ch
    # 152 plain septets and one € (2 septets): 154 > 153 in the first part, so the € moves on whole.
    text = "a" * 152 + "€" + "a" * 7
    assert sms.segments(text).units == 161
    assert sms.segments(text).count == 2
    assert sms.segments("a" * 152 + "€" * 77).count == 3  # 152 | 76 x € = 152 | 1 x €


def test_gsm_alphabet_letters_stay_gsm_and_others_make_it_ucs2() -> None:
    assert sms.segments("Café à Genève, Ñandù, ÄÖÜ ß").encoding == "GSM-7"
    assert sms.segments("Ça coûte").encoding == "UCS-2"  # û is not in GSM 03.38 (Ç is)
    assert sms.segments("x" * 70 + "ł") == sms.Segments("UCS-2", 71, 2)
    assert sms.segments("ł" * 70) == sms.Segments("UCS-2", 70, 1)
    assert sms.segments("ł" * 134).count == 2  # 2 x 67
    assert sms.segments("ł" * 135).count == 3


def test_a_surrogate_pair_is_two_units_and_not_split() -> None:
    assert sms.segments("🙂").units == 2
    assert sms.segments("🙂" * 35).count == 1
    text = "x" * 66 + "🙂" + "x" * 10  # 78 units; the pair does not fit in the first 67
    assert sms.segments(text) == sms.Segments("UCS-2", 78, 2)


# --- quiet hours ----------------------------------------------------------------------------


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize("country", ["NL", "BE"])
def test_the_window_is_eight_to_nine_local_time_at_both_ends(country: str) -> None:
    # Winter: Amsterdam and Brussels are UTC+1.
    assert sms.next_window(utc(2026, 12, 7, 6, 59, 59), country) == utc(2026, 12, 7, 7, 0)
    assert sms.next_window(utc(2026, 12, 7, 7, 0), country) is None  # 08:00 local: open
    assert sms.next_window(utc(2026, 12, 7, 19, 59, 59), country) is None  # 20:59:59 local
    assert sms.next_window(utc(2026, 12, 7, 20, 0), country) == utc(2026, 12, 8, 7, 0)  # 21:00: next morning
    assert sms.next_window(utc(2026, 12, 7, 23, 30), country) == utc(2026, 12, 8, 7, 0)  # 00:30 local


def test_the_window_follows_summer_time() -> None:
    # Summer: UTC+2, so 08:00 local is 06:00 UTC; across the change the next morning is 07:00 UTC.
    assert sms.next_window(utc(2026, 7, 1, 5, 59), "NL") == utc(2026, 7, 1, 6, 0)
    assert sms.next_window(utc(2026, 7, 1, 6, 0), "NL") is None
    assert sms.next_window(utc(2026, 10, 24, 20, 0), "NL") == utc(2026, 10, 25, 7, 0)  # clocks go back overnight


def test_the_time_zone_comes_from_the_country() -> None:
    assert str(sms.zone_of("NL")) == "Europe/Amsterdam"
    assert str(sms.zone_of("be")) == "Europe/Brussels"
    # A debtor in Portugal (UTC+0 in winter): 07:30 UTC is 07:30 there, still closed.
    assert sms.next_window(utc(2026, 12, 7, 7, 30), "PT") == utc(2026, 12, 7, 8, 0)


# --- replies and reports --------------------------------------------------------------------


@pytest.mark.parametrize("body", ["STOP", "stop", " Stop. ", "STOP alstublieft", "Afmelden", "arrêt", "UNSUBSCRIBE"])
def test_stop_words_opt_out(body: str) -> None:
    assert sms.opt_out_word(body) is True


@pytest.mark.parametrize(("body", "wish"), [("START", False), ("unstop", False), ("Ik betaal morgen", None),
                                            ("please stop", None), ("", None)])
def test_other_replies(body: str, wish: bool | None) -> None:
    assert sms.opt_out_word(body) is wish


def test_a_status_moves_forward_only() -> None:
    assert sms.advances(None, "queued")
    assert sms.advances("queued", "delivered")
    assert not sms.advances("delivered", "sent")  # a late 'sent' after 'delivered'
    assert not sms.advances("undelivered", "delivered")  # final stays final
    assert not sms.advances("sent", "sent")
    assert not sms.advances("sent", "bogus")


# --- phone numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "region", "e164"), [
    ("06 1234 5678", "NL", "+31612345678"),
    ("+31 (0)6-12345678", "NL", "+31612345678"),
    ("0031 20 123 4567", "NL", "+31201234567"),
    ("0470 12 34 56", "BE", "+32470123456"),
    ("+32 2 555 12 12", "NL", "+3225551212"),
])  # fmt: skip
def test_numbers_are_read_in_their_country_and_stored_as_e164(raw: str, region: str, e164: str) -> None:
    assert to_e164(raw, region) == e164


@pytest.mark.parametrize("raw", ["12", "06 1234", "not a number", "+31 6 1234 56789 0"])
def test_an_invalid_number_is_refused_naming_the_field(raw: str) -> None:
    with pytest.raises(ValidationError) as caught:
        to_e164(raw, "NL", "phone")
    assert caught.value.field == "phone"
    assert raw in caught.value.message


def test_only_mobile_numbers_can_get_a_text() -> None:
    assert is_mobile("+31612345678")
    assert is_mobile("+32470123456")
    assert not is_mobile("+31201234567")  # Amsterdam landline
    assert not is_mobile(None)


# --- settings -------------------------------------------------------------------------------


def test_the_sms_settings_are_read_and_checked_once() -> None:
    from adapters.settings import Settings, SettingsError

    assert Settings.from_env({}).sms_provider is None
    full = {"SETTLE_SMS_PROVIDER": "Twilio", "SETTLE_SMS_ACCOUNT": "AC1", "SETTLE_SMS_TOKEN": "t",
            "SETTLE_SMS_FROM": "Acme", "SETTLE_SMS_API_BASE": "http://127.0.0.1:9"}  # fmt: skip
    read = Settings.from_env(full)
    assert (read.sms_provider, read.sms_account, read.sms_from, read.sms_api_base) == (
        "twilio", "AC1", "Acme", "http://127.0.0.1:9")
    with pytest.raises(SettingsError, match="SETTLE_SMS_PROVIDER must be one of twilio, not 'messagebird'"):
        Settings.from_env({**full, "SETTLE_SMS_PROVIDER": "messagebird"})
    with pytest.raises(SettingsError, match="needs SETTLE_SMS_TOKEN, SETTLE_SMS_FROM as well"):
        Settings.from_env({"SETTLE_SMS_PROVIDER": "twilio", "SETTLE_SMS_ACCOUNT": "AC1"})
