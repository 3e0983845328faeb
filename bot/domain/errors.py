"""Domain errors: each carries a stable code and parameters that the texts module renders."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal; `code` selects the Chinese message, `params` fill it in."""

    code = "error"

    def __init__(self, code: str | None = None, **params: object) -> None:
        self.code = code or self.code
        self.params = params
        super().__init__(f"{self.code}: {params}")


class IllegalTransition(DomainError):
    """The requested action is not allowed from the appeal's current state."""

    code = "illegal_transition"


class NotFound(DomainError):
    """The referenced appeal, enterprise or unit does not exist."""

    code = "not_found"


class Forbidden(DomainError):
    """The actor may not do this to this appeal."""

    code = "forbidden"


class InvalidInput(DomainError):
    """Input failed validation (format, length, range)."""

    code = "invalid_input"
