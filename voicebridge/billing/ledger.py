"""The prepaid ledger as values: entries, balance, totals and reconciliation.

Amounts are signed integer fen: credits (top-ups) positive, debits (call
charges, rent) negative, adjustments either way. The balance is the sum.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Mapping

from voicebridge.domain import Fen, LedgerKind

__all__ = ["EntryKind", "LedgerEntry", "LedgerTotals", "balance", "reconcile", "totals"]


EntryKind = LedgerKind  # the kinds live in domain.py, shared with the store


@dataclass(frozen=True)
class LedgerEntry:
    """One immutable ledger line.

    ``reference`` ties the entry to what caused it: the CDR id for a call
    charge, the number and period for rent, the top-up id. Adjustments need a
    ``reason``. Signs: top-up > 0, call charge <= 0, rent <= 0, adjustment != 0.
    """

    kind: EntryKind
    amount_fen: Fen
    reference: str
    reason: str
    at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.kind, EntryKind):
            raise TypeError(f"kind must be an EntryKind, got {self.kind!r}")
        if not isinstance(self.amount_fen, int) or isinstance(self.amount_fen, bool):
            raise TypeError(f"amount_fen must be an int, got {type(self.amount_fen).__name__}")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("at must be timezone-aware")
        kind, amount = self.kind, self.amount_fen
        if kind is EntryKind.TOPUP and amount <= 0:
            raise ValueError(f"a topup must be positive, got {amount} fen")
        if kind in (EntryKind.CALL_CHARGE, EntryKind.RENT) and amount > 0:
            raise ValueError(f"a {kind.value} must not be positive, got {amount} fen")
        if kind is EntryKind.ADJUSTMENT and amount == 0:
            raise ValueError("an adjustment must not be zero")
        if kind is EntryKind.ADJUSTMENT and not self.reason.strip():
            raise ValueError("an adjustment needs a reason")
        if kind in (EntryKind.CALL_CHARGE, EntryKind.RENT) and not self.reference:
            raise ValueError(f"a {kind.value} needs a reference")


def balance(entries: Iterable[LedgerEntry]) -> Fen:
    """The balance: the sum of all entries, in fen."""
    return sum((e.amount_fen for e in entries), 0)


@dataclass(frozen=True)
class LedgerTotals:
    """Totals by kind, each as a positive figure except adjustments (signed).

    ``balance == topups - call_charges - rent + adjustments`` always holds.
    """

    topups: Fen
    call_charges: Fen
    rent: Fen
    adjustments: Fen

    @property
    def balance(self) -> Fen:
        return self.topups - self.call_charges - self.rent + self.adjustments


def totals(entries: Iterable[LedgerEntry]) -> LedgerTotals:
    """Sum the entries by kind (for statements and the reconcile report)."""
    sums = {kind: 0 for kind in EntryKind}
    for e in entries:
        sums[e.kind] += e.amount_fen
    return LedgerTotals(
        topups=sums[EntryKind.TOPUP],
        call_charges=-sums[EntryKind.CALL_CHARGE],
        rent=-sums[EntryKind.RENT],
        adjustments=sums[EntryKind.ADJUSTMENT],
    )


def reconcile(
    entries: Iterable[LedgerEntry],
    cdr_charges: Mapping[str, int],
    *,
    require_all_charged: bool = True,
) -> list[str]:
    """Discrepancies between call charges and the CDRs' ratings; empty if none.

    ``cdr_charges`` maps each final CDR's id to its rated charge in fen (>= 0).
    Each call charge must name a CDR and debit exactly its rating; no CDR and
    no rent reference may be charged twice; with ``require_all_charged`` every
    CDR rated above 0 fen must have been charged.
    """
    problems: list[str] = []
    charged: Counter[str] = Counter()
    rents: Counter[str] = Counter()
    for e in entries:
        if e.kind is EntryKind.RENT:
            rents[e.reference] += 1
            continue
        if e.kind is not EntryKind.CALL_CHARGE:
            continue
        charged[e.reference] += 1
        if charged[e.reference] > 1:
            continue  # reported once below
        if e.reference not in cdr_charges:
            problems.append(f"call_charge {e.reference}: no such CDR ({-e.amount_fen} fen charged)")
        elif -e.amount_fen != cdr_charges[e.reference]:
            problems.append(
                f"call_charge {e.reference}: charged {-e.amount_fen} fen, CDR rates {cdr_charges[e.reference]} fen"
            )
    for ref, count in sorted(charged.items()):
        if count > 1:
            problems.append(f"CDR {ref}: charged {count} times")
    for ref, count in sorted(rents.items()):
        if count > 1:
            problems.append(f"rent {ref}: charged {count} times")
    if require_all_charged:
        for ref in sorted(cdr_charges):
            if cdr_charges[ref] != 0 and ref not in charged:
                problems.append(f"CDR {ref}: rated {cdr_charges[ref]} fen, never charged")
    return problems
