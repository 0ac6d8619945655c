"""The dunning engine: pure rules (``rules``), policy choice (``selection``), the run (``engine``)."""
