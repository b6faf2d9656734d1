"""Normalise merchant free text into amounts, time windows and references."""

from .amount import parse_amount

__all__ = ["parse_amount"]
