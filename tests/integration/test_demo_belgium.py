"""Issue 16 in the demo: a Belgian creditor beside the Dutch one, its invoices with OGMs, its
customers Belgian (one Dutch), and a bank day beside the database that reconciles by OGM."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from stdnum.be import ogm_vcs

from adapters.db import make_engine, make_sessionmaker
from domain.customers import country_of
from domain.models import Customer, Invoice, Organisation
from tests.integration.test_cli_serve_and_demo import free_port
from tests.integration.test_demo_issue15 import _env_file
from tests.integration.test_foundation_cli import _env, run


def test_the_demo_has_a_belgian_creditor_whose_bank_day_reconciles_by_ogm(tmp_path: Path) -> None:
    done = run("demo", "--no-serve", "--port", str(free_port()), "--database", "demo.db", env=_env("sqlite:///x.db"),
               cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Brouwerij De Kroon BV (demo-be)" in done.stdout
    assert "settle import bank demo-be-bank.xml --org demo-be" in done.stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        with make_sessionmaker(engine)() as s:
            org = s.scalars(select(Organisation).where(Organisation.slug == "demo-be")).one()
            assert (org.country, org.iban) == ("BE", "BE71096123456769")
            refs = list(s.scalars(select(Invoice.payment_reference).where(Invoice.org_id == org.id)))
            assert len(refs) == 7 and all(r and r.startswith("+++") and ogm_vcs.is_valid(r.strip("+")) for r in refs)
            mine = s.scalars(select(Customer).where(Customer.org_id == org.id))
            countries = {c.name: country_of(c, org) for c in mine}
            assert countries["Café Den Hoek"] == "BE" and countries["Bakkerij Jansen B.V."] == "NL"
    finally:
        engine.dispose()
    env = _env_file(tmp_path / "demo.env")
    imported = run("import", "bank", "demo-be-bank.xml", "--org", "demo-be", env=env, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "4 incoming, 3 matched, 1 left for a person" in imported.stdout
    assert "has wrong check digits" in imported.stderr
