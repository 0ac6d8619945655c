"""Errors the business raises; the edges turn them into HTTP answers or exit codes."""

from __future__ import annotations


class DomainError(Exception):
    """Base: a request the business refuses, with the field it is about."""

    code = "invalid"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    code = "validation_error"


class NotFound(DomainError):
    """Not there, or not this organisation's: the two are indistinguishable on purpose."""

    code = "not_found"


class Conflict(DomainError):
    code = "conflict"
