"""Normalise merchant free text into amounts, time windows, references and ticket numbers."""

from .amount import AmountReading, parse_amount, read_amount
from .reference import (
    Reference,
    RefKind,
    find_references,
    only_in_tickets,
    parse_card_last4,
    parse_reference,
    parse_ticket_no,
    says_no_reference,
    ticket_numbers,
)
from .timewindow import TimeWindow, parse_time

__all__ = [
    "AmountReading",
    "RefKind",
    "Reference",
    "TimeWindow",
    "find_references",
    "only_in_tickets",
    "parse_amount",
    "parse_card_last4",
    "parse_reference",
    "parse_ticket_no",
    "parse_time",
    "read_amount",
    "says_no_reference",
    "ticket_numbers",
]
