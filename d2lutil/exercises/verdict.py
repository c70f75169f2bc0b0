"""How every self-check of notebook 6 reports: not attempted yet, or passed (a wrong answer raises)."""

from __future__ import annotations


def not_attempted(n: int, what: str) -> bool | None:
    """Say the scaffold is untouched; returns None (neither passed nor failed)."""
    print(f"Exercise {n}: not attempted yet. Fill in {what} above, then run this cell again.")
    return None


def passed(n: int, message: str) -> bool:
    """Confirm a right answer; returns True."""
    print(f"Exercise {n}: correct. {message}")
    return True
