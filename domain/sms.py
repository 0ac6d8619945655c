"""Text messages: what a dunning SMS may say, when it may go, and the port its provider fills.

The domain decides; ``adapters.sms`` talks to the provider (Twilio's REST API through its
official SDK) and ``settle`` builds it and hands it in, as with mail transports and payment
gateways:

* **segments** (``segments``): a text is billed and delivered per segment. GSM-7 (the GSM
  03.38 alphabet, through the ``gsm0338`` codec) holds 160 septets in one segment and 153
  per segment once split; the extension characters (``€ [ ] { } \\ ~ ^ |`` and form feed)
  take two septets each and are never split from their escape. Anything outside the
  alphabet makes the whole text UCS-2: 70 UTF-16 units in one, 67 per segment split, a
  surrogate pair never split;
* **quiet hours** (``next_window``): a text reaches a phone only between 08:00 and 21:00 in
  the debtor's time zone (from the customer's country, else the organisation's). Outside
  that window it waits for the next one; it is never skipped;
* **opting out** (``opt_out_word``): ``STOP`` (and the words carriers treat alike) sets the
  customer's ``sms_opt_out``; ``START`` undoes it;
* **delivery status** (``STATUSES``, ``advances``): what the provider reports moves a
  message forward only, so a late ``sent`` never overwrites ``delivered``.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec
from babel.core import get_global

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

WINDOW_OPENS = dt.time(8, 0)
WINDOW_CLOSES = dt.time(21, 0)  # the last moment a text may go is just before 21:00

# Channels a policy step can give (``domain.policies.CHANNELS`` lists them all): a text alone,
# or an e-mail and a text, queued as two outbox rows of one step.
SMS, EMAIL_AND_SMS = "sms", "email+sms"

NO_PHONE = "the customer has no mobile phone number"
OPTED_OUT = "the customer opted out of text messages"

# Twilio's opt-out and opt-in keywords (Advanced Opt-Out defaults), with the Dutch and French
# words debtors in the Netherlands and Belgium send.
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPPEN", "AFMELDEN",
                           "ARRET", "ARRÊT"})  # fmt: skip
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP", "AANMELDEN"})

# What a provider reports, in the order a message moves through them; the last three are final.
STATUSES = ("sending", "queued", "accepted", "sent", "delivered", "undelivered", "failed")
_RANK = {s: i for i, s in enumerate(STATUSES)}
FINAL = frozenset({"delivered", "undelivered", "failed"})


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int  # segments the text is sent as


def _gsm_units(text: str) -> list[int] | None:
    """Septets per character, or None when a character is outside the GSM 03.38 alphabet."""
    out = []
    for ch in text:
        try:
            out.append(len(ch.encode("gsm03.38")))
        except (UnicodeEncodeError, KeyError):
            return None
    return out


def _pack(units: list[int], single: int, part: int) -> int:
    """Segments needed for characters of ``units`` each, none split across two segments."""
    if sum(units) <= single:
        return 1
    count, used = 1, 0
    for u in units:
        if used + u > part:
            count, used = count + 1, 0
        used += u
    return count


def segments(text: str) -> Segments:
    """How ``text`` travels: its encoding, its length in that encoding, and its segments."""
    gsm = _gsm_units(text)
    if gsm is not None:
        return Segments("GSM-7", sum(gsm), _pack(gsm, GSM7_SINGLE, GSM7_PART))
    ucs = [len(ch.encode("utf-16-le")) // 2 for ch in text]
    return Segments("UCS-2", sum(ucs), _pack(ucs, UCS2_SINGLE, UCS2_PART))


def fits_one(text: str) -> bool:
    return segments(text).count == 1


@functools.cache
def zone_of(country: str) -> ZoneInfo:
    """The debtor's time zone from a country code (CLDR's territory zones through Babel: the
    first, i.e. the capital's, for a country with several)."""
    zones = get_global("territory_zones").get(country.upper()) or ["Europe/Amsterdam"]
    return ZoneInfo(zones[0])


def next_window(now: dt.datetime, country: str) -> dt.datetime | None:
    """None when a text may go at ``now`` (aware) in ``country``; else the moment (UTC) the
    next window opens: 08:00 local today when before it, 08:00 local tomorrow when after 21:00."""
    zone = zone_of(country)
    local = now.astimezone(zone)
    if WINDOW_OPENS <= local.time() < WINDOW_CLOSES:
        return None
    day = local.date() if local.time() < WINDOW_OPENS else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, WINDOW_OPENS, tzinfo=zone).astimezone(dt.UTC)


def opt_out_word(body: str) -> bool | None:
    """True for a reply that opts out (``STOP``), False for one that opts back in (``START``),
    None for anything else. Only the first word counts, in any case, punctuation aside."""
    words = body.strip().split()
    if not words:
        return None
    word = words[0].strip(".!,;:").upper()
    if word in OPT_OUT_WORDS:
        return True
    if word in OPT_IN_WORDS:
        return False
    return None


def advances(current: str | None, reported: str) -> bool:
    """Whether ``reported`` moves a message on from ``current`` (never back, never off a final one)."""
    if reported not in _RANK:
        return False
    if current is None or current not in _RANK:
        return True
    if current in FINAL:
        return False
    return _RANK[reported] > _RANK[current]


# --- the port a provider fills -------------------------------------------------------------


class SmsError(Exception):
    """The provider did not take the message; it stays pending and is retried later."""


class SmsRejected(SmsError):
    """The provider will never take this message (an unreachable number, a bad sender): failed.
    ``opted_out``: the provider says the number unsubscribed (replied STOP to it)."""

    def __init__(self, message: str, *, opted_out: bool = False) -> None:
        super().__init__(message)
        self.opted_out = opted_out


@dataclass(frozen=True)
class Accepted:
    provider_ref: str  # the provider's id of the message (Twilio: the Message SID)
    status: str  # one of STATUSES


class SmsProvider(Protocol):
    """Sends text messages. ``reference`` is Settle's id of the message: passed to the provider
    so that it comes back with every status report, and used by ``find`` to tell whether a
    message whose answer was lost (a crash mid-request) was accepted after all."""

    name: str

    def send(self, *, to: str, body: str, reference: str) -> Accepted: ...

    def find(self, *, to: str, body: str, reference: str, since: dt.datetime) -> Accepted | None:
        """The message sent to ``to`` with ``body`` since ``since``, if the provider has it."""
        ...

    def close(self) -> None: ...
