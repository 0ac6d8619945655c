"""The composition root: settings, database, the web app and the ``settle`` CLI."""
