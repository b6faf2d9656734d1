"""Card numbers merchants type: masked first 6 / last 4, check digit valid or not (issue 18)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dropdesk.card import PanMaskingFilter, mask_pans
from dropdesk.config import Settings
from dropdesk.conversation.models import Message
from tests.api.conftest import auth, open_session
from tests.api.fake_rasa import FakeRasa

OFF_CHECK_DIGIT = "6222021234567890"  # UnionPay BIN, Luhn check fails


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("卡号6222021234567890", "卡号622202******7890"),
        ("卡号：6222 0212 3456 7891 扣了", "卡号：622202******7891 扣了"),
        ("银行卡是 1234567890123456", "银行卡是 123456******3456"),  # labelled: no BIN needed
        ("刷卡６２２２０２１２３４５６７８９０没出小票", "刷卡622202******7890没出小票"),
        ("card no. 1234567890123456", "card no. 123456******3456"),
        ("6222021234567890123", "622202******0123"),  # a BIN, unlabelled
        ("顾客的卡 4200123456789012345", "顾客的卡 420012******2345"),
        ("5105105105105101 刷了两次", "510510******5101 刷了两次"),
        ("2221000000000001", "222100******0001"),
        ("3782 822463 10006", "378282******0006"),
        ("卡号 6222021234567890128", "卡号 622202******0128"),  # Luhn-valid, as before
    ],
)
def test_card_numbers_are_masked_whatever_their_check_digit(text: str, masked: str) -> None:
    assert mask_pans(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "参考号613301000301 268块",  # a reference (12 digits) and an amount
        "参考号 6133 0100 0301",
        "凭证号000123 批次号000001",
        "商户 865310054110001",  # no BIN, check digit off
        "订单号4200123456789012345",  # an order number: labelled, check digit off
        "订单号1200123456789012345",
        "1200123456789012345",  # no BIN, check digit off
        "4200000123202612031234567890",  # WeChat order id, 28 digits
        "2026120312345678",  # 2026 is no Mastercard prefix
        "尾号0128",
    ],
)
def test_references_and_other_numbers_stay_readable(text: str) -> None:
    assert mask_pans(text) == text


def test_logs_mask_a_labelled_card_with_a_wrong_check_digit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.handler.addFilter(PanMaskingFilter())
    with caplog.at_level(logging.INFO, logger="dropdesk.test"):
        logging.getLogger("dropdesk.test").info("merchant said %s", f"卡号{OFF_CHECK_DIGIT}")
    assert OFF_CHECK_DIGIT not in caplog.text and "622202******7890" in caplog.text


def test_the_stored_transcript_masks_a_card_whose_check_digit_is_off(
    client: TestClient, settings: Settings, db_session: Session, rasa: tuple[FakeRasa, int]
) -> None:
    sid = open_session(client, settings)
    text = f"卡号{OFF_CHECK_DIGIT}，参考号612300000001，刷了壹仟零伍元"
    client.post(f"/api/v1/sessions/{sid}/messages", json={"text": text}, headers=auth(settings))
    stored = db_session.scalars(select(Message.text).where(Message.sender == "merchant")).all()
    assert stored == ["卡号622202******7890，参考号612300000001，刷了壹仟零伍元"]
    assert OFF_CHECK_DIGIT not in str(rasa[0].received)
