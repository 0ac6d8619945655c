"""``python -m tests.integration.sms_run AS_OF NOW``: ``settle run`` as the real command does it
(settings from the environment, the run's claimant, e-mail then texts), with the clock of the
text messages' quiet hours fixed at NOW (ISO, with offset), so that a test in a subprocess
does not depend on the time of day it runs at."""

from __future__ import annotations

import datetime as dt
import sys

from adapters.db import make_engine
from adapters.settings import Settings
from settle import scheduler


def main() -> None:
    as_of = dt.date.fromisoformat(sys.argv[1])
    now = dt.datetime.fromisoformat(sys.argv[2])
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    try:
        summary = scheduler.run(engine, settings, as_of=as_of, now=lambda: now)
    finally:
        engine.dispose()
    print(summary.line())


if __name__ == "__main__":
    main()
