"""The calling organisation's own details: name, contact, IBAN, KvK, VAT and enterprise numbers."""

from __future__ import annotations

from litestar import Controller, get, patch
from sqlalchemy.orm import Session

from api.auth import Auth
from api.schemas import OrganisationPatch, OrganisationRead
from domain import organisations
from domain.models import Organisation


class OrganisationController(Controller):
    path = "/organisation"
    tags = ["organisation"]

    @get("/", opt={"scope": "settings:read"}, sync_to_thread=True)
    def get_organisation(self, db: Session, auth: Auth) -> OrganisationRead:
        """The details shown in the footer of every e-mail, on letters and on the portal."""
        return OrganisationRead.of(db.get_one(Organisation, auth.org_id))

    @patch("/", opt={"scope": "settings:write"}, sync_to_thread=True)
    def patch_organisation(self, db: Session, auth: Auth, data: OrganisationPatch) -> OrganisationRead:
        """Change only the fields sent, all validated first: ``iban`` (checksum), ``vat_number``
        (an EU VAT number with its country prefix, checksum), ``kvk_number`` (8 digits),
        ``enterprise_number`` (Belgian, checksum), ``phone`` (stored as E.164), ``email``,
        ``country`` (``NL`` or ``BE``). A bad one is a 422 naming it, and nothing changes."""
        org = organisations.update(db, db.get_one(Organisation, auth.org_id), data.changes())
        read = OrganisationRead.of(org)
        db.commit()
        return read
