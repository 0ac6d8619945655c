"""How fast the day's letters become one printable PDF, next to WeasyPrint's own floor.

    .venv/bin/python bench/letters.py                     # 1,000 letters, SQLite
    .venv/bin/python bench/letters.py --letters 200
    .venv/bin/python bench/letters.py --database-url postgresql+psycopg://postgres@127.0.0.1/empty_db

One organisation (with its address, IBAN, KvK and VAT number) and ``--letters`` debtors with a
postal address, each with one invoice at the formal-notice step on the run's day, in Dutch,
English and French, businesses and consumers; then ``settle run`` (in-process) writes their
letters. Timed, in the same process and run:

1. the baseline: WeasyPrint laying out and writing a minimal one-page HTML document (a title and
   a paragraph, the letters' font) once per letter: what any PDF costs with this library;
2. the print batch (``adapters.print_batch.write``, what ``settle letters --date`` does): every
   letter's HTML from the database, laid out (A4, the DIN 5008 window, the invoice table, two QR
   codes), combined into one PDF with a blank page after each letter of odd length, the
   CSV manifest, and the page counts stored.

It prints letters per second for both and the ratio (the batch's time per letter over the
baseline's), the batch's pages and size, and the peak resident memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from adapters import migrate, pdf, print_batch
from adapters.db import make_engine, make_sessionmaker
from adapters.settings import Settings, normalize_database_url
from domain import invoices, organisations
from domain.ids import new_id
from domain.models import Customer, utcnow
from settle import scheduler

AS_OF = dt.date(2026, 6, 1)
MINIMAL = ('<!doctype html><html><head><style>@page { size: A4; margin: 20mm } '
           'body { font: 10pt "DejaVu Sans", sans-serif }</style></head><body><h1>Letter {n}</h1>'
           '<p>A paragraph of text to lay out, with an amount: EUR 1.234,56.</p></body></html>')  # fmt: skip


def seed(url: str, n: int, folder: Path) -> tuple[str, Settings]:
    migrate.upgrade(url)
    engine = make_engine(url)
    settings = Settings(database_url=url, secret_keys=("bench-secret",), base_url="http://127.0.0.1:8000",
                        mail_url=f"file:{folder / 'outbox'}", mail_from="bench@settle.test",
                        sandbox_payments=True)  # fmt: skip
    with make_sessionmaker(engine)() as db:
        org, _ = organisations.create(db, "Groothandel Bench B.V.")
        organisations.update(db, org, {"address": "Havenstraat 1\n1011 AB Amsterdam", "iban": "NL91ABNA0417164300",
                                       "kvk_number": "12345678", "vat_number": "NL004495445B01",
                                       "email": "debiteuren@bench.example"})  # fmt: skip
        now = utcnow()
        rows = [{"id": new_id("cus"), "org_id": org.id, "external_ref": f"DEB-{i:06d}", "name": f"Debiteur {i} B.V.",
                 "email": f"d{i}@bench.example", "kind": "consumer" if i % 3 == 0 else "business",
                 "locale": ("nl", "en", "fr")[i % 3], "address": f"Dorpsstraat {i}\n{1000 + i % 9000} AB Utrecht",
                 "link_version": 1, "created_at": now, "updated_at": now, "regular_supply": False}
                for i in range(n)]  # fmt: skip
        db.execute(insert(Customer), rows)
        due = AS_OF - dt.timedelta(days=35)
        for i, row in enumerate(rows):
            invoices.create(db, org, invoices.NewInvoice(
                number=f"F2026-{i:06d}", issue_date=due - dt.timedelta(days=30), due_date=due,
                amount_cents=50_000 + 137 * i, currency="EUR", customer_id=row["id"],
            ))  # fmt: skip
        db.commit()
        org_id = org.id
    summary = scheduler.run(engine, settings, as_of=AS_OF)
    engine.dispose()
    print(f"seeded {n} debtors; settle run: {summary.line()}")
    return org_id, settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--database-url", default=None, help="an empty database (default: a fresh SQLite file)")
    args = parser.parse_args()
    n = args.letters
    with tempfile.TemporaryDirectory(prefix="settle-letters-bench-") as tmp:
        folder = Path(tmp)
        url = normalize_database_url(args.database_url) if args.database_url else f"sqlite:///{folder / 'bench.db'}"
        started = time.perf_counter()
        org_id, _ = seed(url, n, folder)
        print(f"seeding and the run took {time.perf_counter() - started:.1f} s")
        pdf.render(MINIMAL.replace("{n}", "warm-up"))  # fonts found, caches warm, for both
        t0 = time.perf_counter()
        for i in range(n):
            pdf.render(MINIMAL.replace("{n}", str(i)))
        baseline = time.perf_counter() - t0
        engine = make_engine(url)
        target = folder / "batch.pdf"
        with make_sessionmaker(engine)() as db:
            t0 = time.perf_counter()
            written = print_batch.write(db, org_id, AS_OF, target)
            db.commit()
            batch = time.perf_counter() - t0
        engine.dispose()
        assert written is not None and written.letters == n, written
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size = target.stat().st_size / 1e6
        print(f"baseline (minimal one-page HTML, WeasyPrint): {n} in {baseline:.1f} s = {n / baseline:.1f} documents/s")
        print(f"print batch: {n} letters, {written.pages} pages, {size:.1f} MB in {batch:.1f} s = "
              f"{n / batch:.1f} letters/s")
        print(f"ratio (batch time per letter / baseline time per document): {batch / baseline:.1f}x; "
              f"peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
