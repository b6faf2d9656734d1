"""Demo store: a few merchants whose transactions reach every diagnosis code."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session

from dropdesk.merchant import service as merchant_service
from dropdesk.merchant.models import Merchant
from dropdesk.terminal.models import Terminal
from dropdesk.timezone import SHANGHAI
from dropdesk.transaction import service as transaction_service
from dropdesk.transaction.importer import ImportRow, validate
from dropdesk.transaction.models import SettlementBatch, Transaction


@dataclass(frozen=True)
class DemoMerchant:
    merchant_no: str
    name: str
    settlement_cycle: str
    account: str
    terminal_no: str


STORE = DemoMerchant("865310054110001", "老王便利店", "T1", "6222 **** **** 8848", "10000001")
NOODLES = DemoMerchant("865310054110002", "小李面馆", "T1", "6217 **** **** 3321", "20000001")
MERCHANTS = (STORE, NOODLES)

# Per drop code: `dropdesk diagnose` arguments for the store, and what to say to the bot.
EXAMPLES: dict[str, list[str]] = {
    "approved_not_printed": ["--ref", "612300000001"],
    "declined": ["--ref", "612300000051"],
    "reversed": ["--ref", "612300000098"],
    "settlement_pending": ["--ref", "612300001280"],
    "settled": ["--ref", "612300000560"],
    "settlement_delayed": ["--ref", "612300002300"],
    "duplicate_charge": ["--ref", "612300000199"],
    "reversal_failed": ["--ref", "612300000450"],
    "ambiguous": ["--ref", "000107"],
    "not_found": ["--ref", "612399999999"],
}


@dataclass(frozen=True)
class TrySaying:
    code: str
    label: str
    text: str


# What to say to the bot, per merchant: the portal shows these beside the widget and
# README.md's "Demo: what to try" table repeats the store's.
TRY_SAYING: dict[str, tuple[TrySaying, ...]] = {
    STORE.merchant_no: (
        TrySaying("approved_not_printed", "显示超时但已扣款",
                  "刚才刷了320块5，机器显示超时，顾客说扣钱了，参考号612300000001"),
        TrySaying("declined", "交易被拒", "两个小时前刷88元没成功，参考号612300000051"),
        TrySaying("reversed", "已冲正",
                  "三小时前顾客说扣了256元但我这边显示失败，参考号612300000098"),
        TrySaying("settlement_pending", "结算中", "一小时前收的1280块还没到账，参考号612300001280"),
        TrySaying("settled", "已到账", "上周那笔560元到账了吗，参考号612300000560"),
        TrySaying("settlement_delayed", "结算延迟", "十天前2300元一直没到账，参考号612300002300"),
        TrySaying("duplicate_charge", "重复扣款",
                  "顾客说同一张卡一小时前被扣了两次199，参考号612300000199"),
        TrySaying("reversal_failed", "冲正失败", "昨晚450的那笔显示超时，参考号612300000450"),
        TrySaying("ambiguous", "多笔相似(接着回答卡号后四位 0128 或 5676)",
                  "四个小时前刷了66元，没有单号，不知道顾客付没付"),
        TrySaying("not_found", "查无此笔", "刚才刷的100块，参考号612399999999的钱扣了没有"),
    ),
    NOODLES.merchant_no: (
        TrySaying("settlement_pending", "扫码收款结算中", "刚才收了320块5，参考号712300000001"),
        TrySaying("approved_not_printed", "显示超时但已扣款",
                  "两个小时前刷88元机器显示超时，参考号712300000088"),
        TrySaying("not_found", "别家的参考号查不到(隔离)", "参考号612300000001的钱扣了没有"),
    ),
}  # fmt: skip


def try_saying(merchant_no: str) -> tuple[TrySaying, ...]:
    """The sentences to try for a demo merchant."""
    return TRY_SAYING.get(merchant_no, ())


# Luhn-valid test card numbers; they are masked on the way in like any import.
CARD_A = "6222021234567890128"
CARD_B = "6217001210012345670"
CARD_C = "4392260012345676"


def _rows(now: dt.datetime) -> list[dict[str, str]]:
    today = now.date()

    def at(delta: dt.timedelta) -> str:
        return (now - delta).replace(second=0, microsecond=0).isoformat()

    def day(days_ago: int, hour: int, minute: int) -> str:
        moment = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(hour, minute))
        return moment.replace(tzinfo=SHANGHAI).isoformat()

    h, m = dt.timedelta(hours=1), dt.timedelta(minutes=1)
    s, n = STORE.merchant_no, NOODLES.merchant_no
    t1, t2 = STORE.terminal_no, NOODLES.terminal_no
    settled_on = (today - dt.timedelta(days=6)).isoformat()
    old_settled_on = (today - dt.timedelta(days=29)).isoformat()
    # merchant, terminal, type, order, trace, ref, batch, auth, card, amount, time, code,
    # terminal status, reversal, settlement, settlement date, original ref
    table = [
        (s, t1, "sale", "", "000101", "612300000001", "000017", "A1B2C3", CARD_A, "320.50",
         at(25 * m), "00", "timeout", "none", "unsettled", "", ""),
        (s, t1, "sale", "", "000102", "612300000051", "000017", "", CARD_B, "88.00",
         at(2 * h), "51", "completed", "none", "unsettled", "", ""),
        (s, t1, "sale", "", "000103", "612300000098", "000017", "D4E5F6", CARD_C, "256.00",
         at(3 * h), "00", "timeout", "reversed", "unsettled", "", ""),
        (s, t1, "sale", "", "000104", "612300001280", "000017", "112233", CARD_A, "1280.00",
         at(1 * h), "00", "completed", "none", "unsettled", "", ""),
        (s, t1, "sale", "", "000088", "612300000560", "000016", "445566", CARD_B, "560.00",
         day(7, 11, 20), "00", "completed", "none", "settled", settled_on, ""),
        (s, t1, "sale", "", "000077", "612300002300", "000015", "778899", CARD_C, "2300.00",
         day(10, 15, 40), "00", "completed", "none", "held", "", ""),
        (s, t1, "sale", "", "000105", "612300000199", "000017", "AA0001", CARD_B, "199.00",
         at(50 * m), "00", "timeout", "none", "unsettled", "", ""),
        (s, t1, "sale", "", "000106", "612300000200", "000017", "AA0002", CARD_B, "199.00",
         at(47 * m), "00", "completed", "none", "unsettled", "", ""),
        (s, t1, "sale", "", "000090", "612300000450", "000016", "BB0001", CARD_A, "450.00",
         day(1, 19, 5), "00", "timeout", "failed", "unsettled", "", ""),
        (s, t1, "sale", "", "000107", "612300000661", "000017", "CC0001", CARD_A, "66.00",
         at(4 * h), "00", "completed", "none", "unsettled", "", ""),
        (s, t1, "sale", "", "000108", "612300000662", "000017", "CC0002", CARD_C, "66.00",
         at(4 * h - 4 * m), "00", "completed", "none", "unsettled", "", ""),
        # Trace numbers cycle: last month's 000107 makes "凭证号 000107" ambiguous.
        (s, t1, "sale", "", "000107", "612300000035", "000009", "CC0000", CARD_B, "35.00",
         day(30, 10, 0), "00", "completed", "none", "settled", old_settled_on, ""),
        (s, t1, "sale", "", "000109", "612300000150", "000017", "DD0001", CARD_C, "150.00",
         at(5 * h), "00", "completed", "none", "unsettled", "", ""),
        (s, t1, "void", "", "000110", "612300000151", "000017", "DD0002", CARD_C, "150.00",
         at(5 * h - 5 * m), "00", "completed", "none", "unsettled", "", "612300000150"),
        (n, t2, "sale", "QR20261125000001", "", "712300000001", "000003", "EE0001", CARD_C,
         "320.50", at(25 * m), "00", "completed", "none", "unsettled", "", ""),
        (n, t2, "sale", "", "000021", "712300000088", "000003", "", CARD_A, "88.00",
         at(2 * h), "00", "timeout", "none", "unsettled", "", ""),
    ]  # fmt: skip
    from dropdesk.transaction.importer import COLUMNS

    return [dict(zip(COLUMNS, row, strict=True)) for row in table]


def seed(*, db_session: Session, now: dt.datetime) -> int:
    """Replace the demo merchants' data with a fresh set relative to now; return row count."""
    now = now.astimezone(SHANGHAI)
    rows: list[ImportRow] = []
    for line, raw in enumerate(_rows(now), start=1):
        row, errors = validate(line, raw)
        if row is None:
            raise AssertionError(f"demo row {line} is invalid: {errors}")
        rows.append(row)
    ids = merchant_service.ensure_merchants(
        db_session=db_session, merchant_nos=[m.merchant_no for m in MERCHANTS]
    )
    for demo in MERCHANTS:
        merchant = db_session.get_one(Merchant, ids[demo.merchant_no])
        merchant.name = demo.name
        merchant.settlement_cycle = demo.settlement_cycle
        merchant.settlement_account_masked = demo.account
        db_session.execute(delete(Transaction).where(Transaction.merchant_id == merchant.id))
        db_session.execute(
            delete(SettlementBatch).where(SettlementBatch.merchant_id == merchant.id)
        )
    terminals = merchant_service.ensure_terminals(
        db_session=db_session, pairs=[(ids[m.merchant_no], m.terminal_no) for m in MERCHANTS]
    )
    for demo, version, network in ((STORE, "V2.3.1", "4G"), (NOODLES, "V3.0.2", "WiFi")):
        terminal = db_session.get_one(Terminal, terminals[(ids[demo.merchant_no],
                                                          demo.terminal_no)])  # fmt: skip
        terminal.model = "PAX A920"
        terminal.software_version = version
        terminal.network_type = network
        terminal.last_online_at = now - dt.timedelta(minutes=3)
    db_session.flush()
    transaction_service.upsert_rows(db_session=db_session, rows=rows)
    return len(rows)


DEMO_AGENT = "demo"


def reset_demo_agent(*, db_session: Session, now: dt.datetime) -> tuple[str, str]:
    """Create the demo supervisor, or give it a new password; return (name, password)."""
    import secrets

    from dropdesk.agent import service as agent_service
    from dropdesk.agent.models import AgentCreate, AgentRole

    password = secrets.token_urlsafe(9)
    agent = agent_service.get_by_name(db_session=db_session, name=DEMO_AGENT)
    if agent is None:
        spec = AgentCreate(name=DEMO_AGENT, role=AgentRole.SUPERVISOR, password=password)
        agent_service.create(db_session=db_session, spec=spec, now=now)
    else:
        agent_service.set_password(db_session=db_session, agent=agent, password=password)
        agent.active = True
        agent.failed_logins = 0
        agent.locked_until = None
    return DEMO_AGENT, password


# Past conversations for the dashboard, on merchants of their own: re-seeding replaces them
# and never touches the sessions people start with the demo merchants above.
HISTORY_MERCHANTS = (
    ("865310054110101", "张记烧烤", (("30000001", "V2.3.1"), ("30000002", "V2.2.0"))),
    ("865310054110102", "好邻居超市", (("30000011", "V2.2.0"), ("30000012", "V3.0.2"),
                                    ("30000013", "V2.2.0"))),
    ("865310054110103", "阿芳水果店", (("30000021", "V3.0.2"),)),
    ("865310054110104", "川味小厨", (("30000031", "V2.1.7"), ("30000032", "V2.3.1"))),
)  # fmt: skip
HISTORY_AGENTS = ("张敏", "李娜", "王强")
HISTORY_DAYS = 21


def seed_history(*, db_session: Session, now: dt.datetime) -> int:
    """Replace the generated weeks of history; return how many conversations were written."""
    import secrets

    from dropdesk.agent import service as agent_service
    from dropdesk.agent.models import AgentCreate
    from dropdesk.conversation.models import ChatSession
    from dropdesk.dashboard import history, sample

    ids = merchant_service.ensure_merchants(
        db_session=db_session, merchant_nos=[m[0] for m in HISTORY_MERCHANTS]
    )
    db_session.execute(delete(ChatSession).where(ChatSession.merchant_id.in_(ids.values())))
    pairs = [(ids[no], t) for no, _, terminals in HISTORY_MERCHANTS for t, _ in terminals]
    terminal_ids = merchant_service.ensure_terminals(db_session=db_session, pairs=pairs)
    for merchant_no, name, terminals in HISTORY_MERCHANTS:
        db_session.get_one(Merchant, ids[merchant_no]).name = name
        for terminal_no, version in terminals:
            terminal = db_session.get_one(Terminal, terminal_ids[(ids[merchant_no], terminal_no)])
            terminal.model, terminal.software_version = "PAX A920", version
    agents = []
    for name in HISTORY_AGENTS:  # they never sign in: an unusable random password
        agent = agent_service.get_by_name(db_session=db_session, name=name)
        if agent is None:
            spec = AgentCreate(name=name, password=secrets.token_urlsafe(24))
            agent = agent_service.create(db_session=db_session, spec=spec, now=now)
        agents.append(agent.id)
    merchants = [(ids[no], [t for t, _ in terminals]) for no, _, terminals in HISTORY_MERCHANTS]
    stories = sample.stories(merchants=merchants, agents=agents, now=now, days=HISTORY_DAYS)
    history.write(db_session=db_session, stories=stories)
    return len(stories)
