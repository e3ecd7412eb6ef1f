from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicebridge.billing.ledger import EntryKind, LedgerEntry, LedgerTotals, balance, reconcile, totals

AT = datetime(2024, 3, 1, tzinfo=timezone.utc)


def topup(fen: int, ref: str = "t1") -> LedgerEntry:
    return LedgerEntry(EntryKind.TOPUP, fen, ref, "", AT)


def charge(ref: str, fen: int) -> LedgerEntry:
    return LedgerEntry(EntryKind.CALL_CHARGE, -fen, ref, "", AT)


def rent(ref: str, fen: int = 3000) -> LedgerEntry:
    return LedgerEntry(EntryKind.RENT, -fen, ref, "", AT)


def adjust(fen: int, reason: str = "goodwill") -> LedgerEntry:
    return LedgerEntry(EntryKind.ADJUSTMENT, fen, "", reason, AT)


def test_balance_and_totals() -> None:
    entries = [topup(10_000), charge("cdr-1", 18), charge("cdr-2", 36), rent("+861061234567/2024-03-01"), adjust(-100), adjust(50)]
    assert balance(entries) == 10_000 - 18 - 36 - 3000 - 100 + 50
    t = totals(entries)
    assert t == LedgerTotals(topups=10_000, call_charges=54, rent=3000, adjustments=-50)
    assert t.balance == balance(entries)
    assert balance([]) == 0
    assert totals([]) == LedgerTotals(0, 0, 0, 0)


def test_entry_kinds() -> None:
    assert [str(k) for k in EntryKind] == ["topup", "call_charge", "rent", "adjustment"]


def test_entry_is_frozen() -> None:
    e = topup(1)
    with pytest.raises(AttributeError):
        e.amount_fen = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((EntryKind.TOPUP, 0, "t", "", AT), ValueError, "a topup must be positive, got 0 fen"),
        ((EntryKind.TOPUP, -5, "t", "", AT), ValueError, "a topup must be positive, got -5 fen"),
        ((EntryKind.CALL_CHARGE, 18, "c", "", AT), ValueError, "a call_charge must not be positive, got 18 fen"),
        ((EntryKind.RENT, 3000, "r", "", AT), ValueError, "a rent must not be positive, got 3000 fen"),
        ((EntryKind.CALL_CHARGE, -18, "", "", AT), ValueError, "a call_charge needs a reference"),
        ((EntryKind.RENT, -3000, "", "", AT), ValueError, "a rent needs a reference"),
        ((EntryKind.ADJUSTMENT, 0, "", "x", AT), ValueError, "an adjustment must not be zero"),
        ((EntryKind.ADJUSTMENT, 10, "", "  ", AT), ValueError, "an adjustment needs a reason"),
        ((EntryKind.TOPUP, 1.5, "t", "", AT), TypeError, "amount_fen must be an int, got float"),
        ((EntryKind.TOPUP, True, "t", "", AT), TypeError, "amount_fen must be an int, got bool"),
        (("topup", 1, "t", "", AT), TypeError, "kind must be an EntryKind, got 'topup'"),
        ((EntryKind.TOPUP, 1, "t", "", datetime(2024, 1, 1)), ValueError, "at must be timezone-aware"),
    ],
)
def test_entry_validation(args: tuple[object, ...], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        LedgerEntry(*args)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_zero_call_charge_is_allowed() -> None:
    assert charge("cdr-unanswered", 0).amount_fen == 0


def test_reconcile_clean() -> None:
    entries = [topup(1000), charge("a", 18), charge("b", 36), rent("n1/2024-03-01")]
    assert reconcile(entries, {"a": 18, "b": 36, "c": 0}) == []


def test_reconcile_finds_every_discrepancy() -> None:
    entries = [
        topup(1000),
        charge("a", 18),
        charge("a", 18),  # charged twice
        charge("b", 18),  # CDR rates 36
        charge("ghost", 54),  # no such CDR
        rent("n1/2024-03-01"),
        rent("n1/2024-03-01"),  # rent period charged twice
    ]
    cdrs = {"a": 18, "b": 36, "c": 72, "d": 0}
    assert reconcile(entries, cdrs) == [
        "call_charge b: charged 18 fen, CDR rates 36 fen",
        "call_charge ghost: no such CDR (54 fen charged)",
        "CDR a: charged 2 times",
        "rent n1/2024-03-01: charged 2 times",
        "CDR c: rated 72 fen, never charged",
    ]
    assert "CDR c: rated 72 fen, never charged" not in reconcile(entries, cdrs, require_all_charged=False)


def test_reconcile_accepts_any_iterable() -> None:
    assert reconcile(iter([charge("a", 18)]), {"a": 18}) == []


@settings(database=None, max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(min_value=1, max_value=10**7).map(topup),
            st.integers(min_value=0, max_value=10**5).map(lambda f: charge("x", f)),
            st.integers(min_value=0, max_value=10**4).map(lambda f: rent("r", f)),
            st.integers(min_value=-(10**5), max_value=10**5).filter(bool).map(adjust),
        ),
        max_size=50,
    )
)
def test_balance_identity(entries: list[LedgerEntry]) -> None:
    t = totals(entries)
    assert balance(entries) == t.topups - t.call_charges - t.rent + t.adjustments
    assert isinstance(balance(entries), int)
