"""The back-office JSON API under ``/api/v1``: thin Litestar controllers over the domain."""
