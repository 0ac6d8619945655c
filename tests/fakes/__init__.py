"""Local fake payment providers and a loopback server runner, for tests only."""
