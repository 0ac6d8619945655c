"""The SMS provider: Twilio's Programmable Messaging through its official SDK (``twilio``).

Why Twilio: its official, maintained Python SDK covers everything Settle needs in one place
(sending, listing what was sent, and ``RequestValidator`` for the signature on its webhooks);
it delivers to Dutch and Belgian mobiles with an alphanumeric sender or a number, reports
delivery per message to a ``StatusCallback`` URL, and forwards replies (STOP) to a webhook.
MessageBird/Bird was the other candidate: its old SDK (``messagebird``) is no longer
developed, the new one (``messagebird-sdk``) is a few months old.

Twilio takes no idempotency key on ``Messages.create``. What stands in for it: Settle's
message id rides along in the ``StatusCallback`` URL (``?m=<id>``), so every status report
names the message it is about, and ``find`` looks for a message to the same number with the
same words since it was queued, which ``domain.sms_delivery`` asks before it sends again a
message whose earlier answer was lost (the words carry a fresh signed link, so they are
unique to the message).

``SETTLE_SMS_API_BASE`` points the SDK elsewhere (the fake in ``tests/fakes/twilio_fake.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from urllib.parse import urlencode

from adapters.settings import SMS_PROVIDERS, Settings, SettingsError
from domain import sms

# Twilio error codes that no retry can fix: a number that is not valid, not a mobile, or
# unsubscribed (replied STOP to the sender), a region the account may not send to.
PERMANENT = frozenset({21211, 21214, 21408, 21610, 21612, 21614, 21635})
UNSUBSCRIBED = 21610  # "Attempt to send to unsubscribed recipient": the number replied STOP to the sender
__all__ = ["SMS_PROVIDERS", "TwilioProvider", "provider_for"]
STATUS_PATH = "/webhooks/sms/twilio/status"
INBOUND_PATH = "/webhooks/sms/twilio/inbound"

_STATUS = {"accepted": "accepted", "scheduled": "accepted", "queued": "queued", "sending": "queued",
           "sent": "sent", "delivered": "delivered", "undelivered": "undelivered", "failed": "failed",
           "canceled": "failed", "read": "delivered"}  # fmt: skip


def status_of(twilio_status: str | None) -> str:
    """Twilio's message status as one of ``domain.sms.STATUSES``."""
    return _STATUS.get((twilio_status or "").lower(), "queued")


class TwilioProvider:
    """``domain.sms.SmsProvider`` on Twilio. Built once per run or app (``provider_for``)."""

    name = "twilio"

    def __init__(self, *, account_sid: str, auth_token: str, sender: str, base_url: str,
                 api_base: str | None = None, timeout: float = 15.0) -> None:  # fmt: skip
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        # The SDK logs every request at INFO, phone numbers in the URL and body: not in Settle's logs.
        logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
        self.sender = sender
        self.base_url = base_url.rstrip("/")
        self.auth_token = auth_token
        self.client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
        if api_base:
            self.client.api.base_url = api_base.rstrip("/")

    def status_callback(self, reference: str) -> str:
        return f"{self.base_url}{STATUS_PATH}?{urlencode({'m': reference})}"

    def send(self, *, to: str, body: str, reference: str) -> sms.Accepted:
        from requests import RequestException
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            message = self.client.messages.create(
                to=to, from_=self.sender, body=body, status_callback=self.status_callback(reference)
            )
        except TwilioRestException as exc:
            error = f"Twilio {exc.status} ({exc.code}): {exc.msg}"
            if exc.code in PERMANENT or (400 <= exc.status < 500 and exc.status not in (408, 429)):
                raise sms.SmsRejected(error, opted_out=exc.code == UNSUBSCRIBED) from None
            raise sms.SmsError(error) from None
        except (TwilioException, RequestException, OSError) as exc:
            raise sms.SmsError(f"Twilio: {exc}") from None
        return sms.Accepted(provider_ref=str(message.sid), status=status_of(message.status))

    def find(self, *, to: str, body: str, reference: str, since: dt.datetime) -> sms.Accepted | None:
        """The newest messages to ``to`` (one page), the one with these words created since ``since``."""
        from requests import RequestException
        from twilio.base.exceptions import TwilioException

        try:
            messages = self.client.messages.list(to=to, limit=50)
        except (TwilioException, RequestException, OSError) as exc:
            raise sms.SmsError(f"Twilio (looking up an earlier attempt): {exc}") from None
        floor = since - dt.timedelta(minutes=5)
        for m in messages:
            created = m.date_created
            if m.body == body and (created is None or created >= floor):
                return sms.Accepted(provider_ref=str(m.sid), status=status_of(m.status))
        return None

    def verify(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        """Whether ``X-Twilio-Signature`` is Twilio's for this URL and these form fields."""
        from twilio.request_validator import RequestValidator

        return bool(signature) and bool(RequestValidator(self.auth_token).validate(url, dict(params), signature))

    def close(self) -> None:
        pass


def provider_for(settings: Settings) -> TwilioProvider | None:
    """The configured provider, or None when ``SETTLE_SMS_PROVIDER`` is not set (texts then
    wait in the outbox). A provider named without its credentials is refused by name."""
    if not settings.sms_provider:
        return None
    missing = [name for name, value in (("SETTLE_SMS_ACCOUNT", settings.sms_account),
                                        ("SETTLE_SMS_TOKEN", settings.sms_token),
                                        ("SETTLE_SMS_FROM", settings.sms_from)) if not value]  # fmt: skip
    if missing:
        raise SettingsError(f"SETTLE_SMS_PROVIDER={settings.sms_provider} needs {', '.join(missing)}")
    return TwilioProvider(account_sid=settings.sms_account or "", auth_token=settings.sms_token or "",
                          sender=settings.sms_from or "", base_url=settings.base_url,
                          api_base=settings.sms_api_base)  # fmt: skip
