"""Every drop code and the boundaries between them, against a real store."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from dropdesk.config import Settings
from dropdesk.diagnosis.models import DiagnosisQuery, DiagnosisRead, DropCode, NextStep
from dropdesk.diagnosis.service import UnknownMerchantError, diagnose
from tests.api.factories import CARD_2, MERCHANT_A, MERCHANT_B, row, shanghai, store

# Wednesday 25 November 2026, late afternoon in Shanghai.
NOW = shanghai(2026, 11, 25, 16, 30)


def run(db_session: Session, settings: Settings, *, now: dt.datetime = NOW,
        merchant: str = MERCHANT_A, **query: object) -> DiagnosisRead:  # fmt: skip
    q = DiagnosisQuery(merchant_no=merchant, **query)  # type: ignore[arg-type]
    return diagnose(db_session=db_session, query=q, settings=settings, now=now)


def test_declined_explains_the_response_code(db_session: Session, settings: Settings) -> None:
    store(db_session, row(ref_no="612300000051", response_code="51"))
    result = run(db_session, settings, order_ref="612300000051")
    assert result.code == DropCode.DECLINED
    assert result.details["response_meaning"] == "余额不足"
    assert NextStep.CHARGE_AGAIN in result.next_steps
    assert not result.needs_human


def test_no_host_answer_is_a_decline(db_session: Session, settings: Settings) -> None:
    store(db_session, row(ref_no="612300000052", response_code="", terminal_status="timeout"))
    assert run(db_session, settings, order_ref="612300000052").code == DropCode.DECLINED


def test_reversed_tells_when_money_is_back(db_session: Session, settings: Settings) -> None:
    store(db_session, row(ref_no="612300000098", terminal_status="timeout",
                          reversal_status="reversed"))  # fmt: skip
    result = run(db_session, settings, order_ref="612300000098")
    assert result.code == DropCode.REVERSED
    assert result.details["money_back_by"] == "2026-11-26"


def test_not_found(db_session: Session, settings: Settings) -> None:
    store(db_session, row(ref_no="612300000001"))
    result = run(db_session, settings, order_ref="999999999999")
    assert result.code == DropCode.NOT_FOUND
    assert result.transactions == []


def test_approved_but_terminal_timed_out(db_session: Session, settings: Settings) -> None:
    store(db_session, row(ref_no="612300000001", terminal_status="timeout"))
    result = run(db_session, settings, order_ref="612300000001")
    assert result.code == DropCode.APPROVED_NOT_PRINTED
    assert NextStep.DO_NOT_CHARGE_AGAIN in result.next_steps
    assert result.transactions[0].card_masked == "622202******0128"


def test_settlement_pending_then_delayed(db_session: Session, settings: Settings) -> None:
    store(db_session, row(ref_no="612300000128", amount="1280.00"))
    pending = run(db_session, settings, order_ref="612300000128")
    assert pending.code == DropCode.SETTLEMENT_PENDING
    assert pending.details["expected_date"] == "2026-11-26"
    late = run(db_session, settings, order_ref="612300000128", now=shanghai(2026, 11, 27, 9))
    assert late.code == DropCode.SETTLEMENT_DELAYED
    assert late.needs_human


def test_settlement_over_a_weekend(db_session: Session, settings: Settings) -> None:
    # Friday sale, T+1: due Monday, so Saturday and Monday are pending, Tuesday is late.
    store(db_session, row(ref_no="612300000200", txn_time="2026-11-20T18:00:00"))
    for day, code in ((21, DropCode.SETTLEMENT_PENDING), (23, DropCode.SETTLEMENT_PENDING),
                      (24, DropCode.SETTLEMENT_DELAYED)):  # fmt: skip
        result = run(db_session, settings, order_ref="612300000200",
                     now=shanghai(2026, 11, day, 10))  # fmt: skip
        assert result.code == code, day
        assert result.details["expected_date"] == "2026-11-23"


def test_settlement_skips_a_configured_holiday(db_session: Session, settings: Settings) -> None:
    store(db_session, row(ref_no="612300000201", txn_time="2026-09-30T12:00:00"))
    result = run(db_session, settings, order_ref="612300000201", now=shanghai(2026, 10, 1, 9))
    assert result.details["expected_date"] == "2026-10-02"


def test_settled_names_date_batch_and_account(db_session: Session, settings: Settings) -> None:
    store(db_session, row(ref_no="612300000560", settlement_status="settled",
                          settlement_date="2026-11-20", batch_no="000016",
                          txn_time="2026-11-19T11:20:00"))  # fmt: skip
    result = run(db_session, settings, order_ref="612300000560")
    assert result.code == DropCode.SETTLED
    assert result.details["settlement_date"] == "2026-11-20"
    assert result.details["batch_no"] == "000016"


@pytest.mark.parametrize("status", ["held", "failed"])
def test_settlement_held_or_failed_escalates(db_session: Session, settings: Settings,
                                             status: str) -> None:  # fmt: skip
    store(db_session, row(ref_no="612300002300", settlement_status=status))
    result = run(db_session, settings, order_ref="612300002300")
    assert result.code == DropCode.SETTLEMENT_DELAYED
    assert result.needs_human and NextStep.ESCALATE in result.next_steps


def test_duplicate_charge_same_day_is_voided(db_session: Session, settings: Settings) -> None:
    store(db_session,
          row(ref_no="612300000199", amount="199.00", txn_time="2026-11-25T15:40:00",
              terminal_status="timeout"),
          row(ref_no="612300000200", amount="199.00", txn_time="2026-11-25T15:43:00"))  # fmt: skip
    by_time = run(db_session, settings, time_from=shanghai(2026, 11, 25, 15, 40),
                  amount=Decimal("199.00"))  # fmt: skip
    by_ref = run(db_session, settings, order_ref="612300000199")
    for result in (by_time, by_ref):
        assert result.code == DropCode.DUPLICATE_CHARGE
        assert len(result.transactions) == 2
        assert result.next_steps == [NextStep.VOID_EXTRA_TODAY]
        assert not result.needs_human


def test_duplicate_charge_settled_needs_a_person(db_session: Session, settings: Settings) -> None:
    common = {"amount": "199.00", "settlement_status": "settled", "settlement_date": "2026-11-21"}
    store(db_session,
          row(ref_no="612300000301", txn_time="2026-11-20T15:40:00", **common),
          row(ref_no="612300000302", txn_time="2026-11-20T15:42:00", **common))  # fmt: skip
    result = run(db_session, settings, order_ref="612300000302")
    assert result.code == DropCode.DUPLICATE_CHARGE
    assert result.needs_human
    assert NextStep.REFUND_EXTRA in result.next_steps


def test_reversal_failed_escalates(db_session: Session, settings: Settings) -> None:
    store(db_session, row(ref_no="612300000450", terminal_status="timeout",
                          reversal_status="failed"))  # fmt: skip
    result = run(db_session, settings, order_ref="612300000450")
    assert result.code == DropCode.REVERSAL_FAILED
    assert result.needs_human


def test_same_amount_on_two_cards_is_ambiguous_until_card_given(
    db_session: Session, settings: Settings
) -> None:
    store(db_session,
          row(ref_no="612300000661", amount="66.00", txn_time="2026-11-25T12:00:00"),
          row(ref_no="612300000662", amount="66.00", txn_time="2026-11-25T12:04:00",
              card_no=CARD_2, terminal_status="timeout"))  # fmt: skip
    ambiguous = run(db_session, settings, time_from=shanghai(2026, 11, 25, 12),
                    time_to=shanghai(2026, 11, 25, 12, 59), amount=Decimal("66"))  # fmt: skip
    assert ambiguous.code == DropCode.AMBIGUOUS
    assert ambiguous.details["separating"] == "card_last4"
    assert ambiguous.next_steps == [NextStep.ASK_CARD_LAST4]
    resolved = run(db_session, settings, time_from=shanghai(2026, 11, 25, 12),
                   time_to=shanghai(2026, 11, 25, 12, 59), amount=Decimal("66"),
                   card_last4="5670")  # fmt: skip
    assert resolved.code == DropCode.APPROVED_NOT_PRINTED
    assert resolved.transactions[0].ref_no == "612300000662"


def test_void_linked_to_its_sale_means_reversed(db_session: Session, settings: Settings) -> None:
    store(db_session,
          row(ref_no="612300000150", amount="150.00", txn_time="2026-11-25T10:00:00"),
          row(ref_no="612300000151", amount="150.00", txn_time="2026-11-25T10:05:00",
              txn_type="void", original_ref_no="612300000150"))  # fmt: skip
    for query in (
        {"order_ref": "612300000151"},
        {"time_from": shanghai(2026, 11, 25, 10, 3), "amount": Decimal("150")},
    ):
        result = run(db_session, settings, **query)
        assert result.code == DropCode.REVERSED
        assert result.details["how"] == "voided"
        assert [t.txn_type for t in result.transactions] == ["sale", "void"]


def test_time_tolerance_boundary(db_session: Session, settings: Settings) -> None:
    store(db_session, row(txn_time="2026-11-25T15:00:00", terminal_status="timeout"))
    tolerance = dt.timedelta(minutes=settings.time_tolerance_minutes)
    inside = run(db_session, settings, time_from=shanghai(2026, 11, 25, 15) + tolerance,
                 amount=Decimal("320.50"))  # fmt: skip
    assert inside.code == DropCode.APPROVED_NOT_PRINTED
    outside = run(db_session, settings,
                  time_from=shanghai(2026, 11, 25, 15) + tolerance + dt.timedelta(minutes=1),
                  amount=Decimal("320.50"))  # fmt: skip
    assert outside.code == DropCode.NOT_FOUND


def test_vague_window_and_exact_amount(db_session: Session, settings: Settings) -> None:
    store(db_session,
          row(ref_no="612300000701", amount="88.00", txn_time="2026-11-25T14:10:00"),
          row(ref_no="612300000702", amount="88.01", txn_time="2026-11-25T14:20:00"))  # fmt: skip
    result = run(db_session, settings, time_from=shanghai(2026, 11, 25, 12),
                 time_to=shanghai(2026, 11, 25, 18), amount=Decimal("88.00"))  # fmt: skip
    assert [t.ref_no for t in result.transactions] == ["612300000701"]


def test_reference_matches_every_identifier_kind(db_session: Session, settings: Settings) -> None:
    store(db_session, row(order_no="QR2026112500000001", trace_no="000321", ref_no="612300000321",
                          auth_code="XY12Z9", terminal_status="timeout"))  # fmt: skip
    for ref in ("QR2026112500000001", "qr2026112500000001", "000321", "612300000321", "XY12Z9"):
        assert run(db_session, settings, order_ref=ref).code == DropCode.APPROVED_NOT_PRINTED


def test_merchants_never_see_each_other(db_session: Session, settings: Settings) -> None:
    store(db_session,
          row(merchant_no=MERCHANT_B, terminal_no="T0000002", ref_no="712300000001",
              order_no="QRB000000001", trace_no="000999", auth_code="BBBBBB",
              amount="520.00", txn_time="2026-11-25T15:00:00"),
          row(ref_no="612300000001", amount="10.00", txn_time="2026-11-25T09:00:00"))  # fmt: skip
    for query in ({"order_ref": "712300000001"}, {"order_ref": "QRB000000001"},
                  {"order_ref": "000999"}, {"order_ref": "BBBBBB"},
                  {"time_from": shanghai(2026, 11, 25, 15), "amount": Decimal("520")},
                  {"time_from": shanghai(2026, 11, 25, 0),
                   "time_to": shanghai(2026, 11, 25, 23, 59)}):  # fmt: skip
        result = run(db_session, settings, **query)
        assert all(t.ref_no != "712300000001" for t in result.transactions), query
    own = run(db_session, settings, merchant=MERCHANT_B, order_ref="712300000001")
    assert own.transactions[0].ref_no == "712300000001"


def test_unknown_merchant(db_session: Session, settings: Settings) -> None:
    with pytest.raises(UnknownMerchantError):
        run(db_session, settings, merchant="865310054119999", order_ref="612300000001")


def test_candidates_list_every_question_that_separates_them(
    db_session: Session, settings: Settings
) -> None:
    # Same amount and minute on two cards at two terminals: one declined, one approved.
    store(db_session,
          row(ref_no="612300000671", amount="88.00", txn_time="2026-11-25T13:10:00",
              response_code="51", terminal_status="failed"),
          row(ref_no="612300000672", amount="88.00", txn_time="2026-11-25T13:10:30",
              card_no=CARD_2, terminal_no="T0000002", terminal_status="completed"))  # fmt: skip
    window = {"time_from": shanghai(2026, 11, 25, 13), "time_to": shanghai(2026, 11, 25, 13, 59)}
    ambiguous = run(db_session, settings, amount=Decimal("88"), **window)
    assert ambiguous.code == DropCode.AMBIGUOUS
    assert ambiguous.details["separators"] == "card_last4,terminal,screen,reference"
    assert ambiguous.details["outcomes_differ"] == "true"
    by_terminal = run(db_session, settings, amount=Decimal("88"), terminal_no="0002", **window)
    assert [t.ref_no for t in by_terminal.transactions] == ["612300000672"]
    by_screen = run(db_session, settings, amount=Decimal("88"), screen="failure", **window)
    assert by_screen.code == DropCode.DECLINED
    assert [t.ref_no for t in by_screen.transactions] == ["612300000671"]
