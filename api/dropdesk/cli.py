"""The `dropdesk` command: store, diagnosis, demo data, tokens and the dev runner."""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import sys
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import httpx
import typer
from pydantic import ValidationError

from dropdesk import messages
from dropdesk.config import get_settings
from dropdesk.database.core import session_scope
from dropdesk.timezone import SHANGHAI, now_shanghai, parse_business_time
from dropdesk.wechat.commands import app as wechat_app

app = typer.Typer(
    help="DropDesk: POS dropped-transaction support.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Import data into the store.", no_args_is_help=True)
app.add_typer(import_app, name="import")
agent_app = typer.Typer(help="Agents who take escalated sessions over.", no_args_is_help=True)
app.add_typer(agent_app, name="agent")
contract_app = typer.Typer(help="The contract the bot runtime relies on.", no_args_is_help=True)
app.add_typer(contract_app, name="contract")
app.add_typer(wechat_app, name="wechat")


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


@app.callback()
def _settings_first() -> None:
    """Refuse bad settings (DROPDESK_ENV=production checks them all) before any command runs."""
    from dropdesk.config import settings_error

    try:
        get_settings()
    except ValidationError as exc:
        _fail(settings_error(exc), code=2)


@app.command()
def migrate(
    check: Annotated[bool, typer.Option(
        "--check", help="Migrate nothing: exit 0 if the schema is the newest, 3 if not "
                        "(a replica's init container waits on it).",
    )] = False,
) -> None:  # fmt: skip
    """Migrate the database to the newest schema (once per release; safe to start twice)."""
    from dropdesk.database.migrate import is_at_head, upgrade

    if check:
        if not is_at_head(get_settings().database_url):
            _fail("the database schema is not the newest: run `dropdesk migrate`", code=3)
        typer.echo("database is up to date")
        return

    def waiting() -> None:
        typer.echo("another `dropdesk migrate` is running; waiting for it to finish ...")

    upgrade(get_settings().database_url, on_wait=waiting)
    typer.echo("database is up to date")


@import_app.command("transactions")
def import_transactions(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    encoding: Annotated[str | None, typer.Option(help="Force a text encoding, e.g. gbk.")] = None,
) -> None:
    """Import a CSV or JSON Lines export; any bad row imports nothing."""
    from dropdesk.transaction.bulk import import_file
    from dropdesk.transaction.importer import ImportFileError

    with session_scope(get_settings().database_url) as db_session:
        try:
            outcome = import_file(db_session=db_session, path=file, encoding=encoding)
        except ImportFileError as exc:
            _fail(f"{file}: {exc}")
            return
    if outcome.errors:
        for error in outcome.errors[:200]:
            typer.echo(f"{file}: {error}", err=True)
        more = len(outcome.errors) - 200
        if more > 0:
            typer.echo(f"... and {more} more", err=True)
        _fail(f"{len(outcome.errors)} bad row(s); nothing was imported")
    assert outcome.result is not None
    result = outcome.result
    typer.echo(
        f"imported {result.rows} row(s): {result.inserted} new, "
        f"{result.updated_or_unchanged} already present"
        + (f", {outcome.duplicates} repeated row(s) in the file" if outcome.duplicates else "")
    )


def _time(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return parse_business_time(value)
    except ValueError:
        _fail(f"not an ISO 8601 time: {value}", 2)
    return None


@app.command()
def diagnose(
    merchant: Annotated[str, typer.Option(help="Merchant number (15 digits).")],
    ref: Annotated[
        str | None, typer.Option(help="Order, trace, reference no. or auth code.")
    ] = None,
    time: Annotated[
        str | None, typer.Option(help="When, ISO 8601 (Asia/Shanghai if naive).")
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Window start.")] = None,
    to: Annotated[str | None, typer.Option(help="Window end.")] = None,
    amount: Annotated[str | None, typer.Option(help="Amount in yuan, e.g. 320.50.")] = None,
    card_last4: Annotated[str | None, typer.Option(help="Last 4 digits of the card.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the diagnosis as JSON.")] = False,
) -> None:
    """Diagnose a dropped transaction and print the drop type."""
    from dropdesk.diagnosis.models import DiagnosisQuery
    from dropdesk.diagnosis.service import UnknownMerchantError
    from dropdesk.diagnosis.service import diagnose as run

    if time and (from_ or to):
        _fail("give --time or --from/--to, not both", 2)
    try:
        value = Decimal(amount) if amount is not None else None
    except InvalidOperation:
        _fail(f"not an amount: {amount}", 2)
        return
    try:
        query = DiagnosisQuery(
            merchant_no=merchant, order_ref=ref, time_from=_time(time or from_),
            time_to=_time(time or to), amount=value, card_last4=card_last4,
        )  # fmt: skip
    except ValidationError as exc:
        _fail("; ".join(e["msg"] for e in exc.errors()), 2)
        return
    settings = get_settings()
    with session_scope(settings.database_url) as db_session:
        try:
            result = run(db_session=db_session, query=query, settings=settings)
        except UnknownMerchantError:
            _fail(f"no merchant {merchant}")
            return
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    typer.echo(f"{result.code.value}: {result.reason}")
    for txn in result.transactions:
        typer.echo(
            f"  {txn.txn_time.astimezone(SHANGHAI):%Y-%m-%d %H:%M} {txn.txn_type:6} "
            f"¥{txn.amount:>10.2f} ref={txn.ref_no or '-'} trace={txn.trace_no or '-'} "
            f"card={txn.card_masked or '-'} rc={txn.response_code or '--'} "
            f"{txn.terminal_status}/{txn.reversal_status}/{txn.settlement_status}"
        )
    steps = "; ".join(messages.NEXT_STEPS[s.value] for s in result.next_steps)
    typer.echo(f"next: {steps}" + ("  [needs a person]" if result.needs_human else ""))


@app.command()
def seed(
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo merchants.")] = False,
) -> None:
    """Load demo data (replacing earlier demo data, so it is safe to repeat)."""
    from dropdesk import demo as demo_data

    if not demo:
        _fail("nothing to seed: pass --demo", 2)
    with session_scope(get_settings().database_url) as db_session:
        count = demo_data.seed(db_session=db_session, now=now_shanghai())
        past = demo_data.seed_history(db_session=db_session, now=now_shanghai())
    typer.echo(f"demo store ready: {len(demo_data.MERCHANTS)} merchants, {count} transactions")
    typer.echo(f"dashboard history: {past} conversations over {demo_data.HISTORY_DAYS} days")


@app.command("merchant-token")
def merchant_token(
    merchant_no: str,
    hours: Annotated[int | None, typer.Option(help="Lifetime in hours.")] = None,
) -> None:
    """Print a signed, expiring token that identifies a merchant to the chat API."""
    from dropdesk.auth.service import issue_merchant_token
    from dropdesk.merchant.service import get_by_no

    settings = get_settings()
    with session_scope(settings.database_url) as db_session:
        if get_by_no(db_session=db_session, merchant_no=merchant_no) is None:
            _fail(f"no merchant {merchant_no}")
    ttl = dt.timedelta(hours=hours) if hours else None
    typer.echo(issue_merchant_token(merchant_no=merchant_no, settings=settings, ttl=ttl))


@agent_app.command("create")
def agent_create(
    name: str,
    role: Annotated[str, typer.Option(help="agent or supervisor")] = "agent",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create an agent; the password comes from a prompt or standard input."""
    from dropdesk.agent import service as agent_service
    from dropdesk.agent.models import AgentCreate
    from dropdesk.errors import ConflictError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        spec = AgentCreate.model_validate({"name": name, "role": role, "password": password})
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()), 2)
        return
    with session_scope(get_settings().database_url) as db_session:
        try:
            agent = agent_service.create(db_session=db_session, spec=spec, now=now_shanghai())
        except ConflictError as exc:
            _fail(str(exc))
            return
        typer.echo(f"agent {agent.name} created ({agent.role})")


@agent_app.command("token")
def agent_token(name: str) -> None:
    """Print a new API token for an agent (the previous one stops working)."""
    from dropdesk.agent import service as agent_service

    with session_scope(get_settings().database_url) as db_session:
        agent = agent_service.get_by_name(db_session=db_session, name=name)
        if agent is None or not agent.active:
            _fail(f"no agent {name}")
            return
        typer.echo(agent_service.issue_api_token(db_session=db_session, agent=agent))


@contract_app.command("export")
def contract_export() -> None:
    """Write actions/contract/ (internal API schema and vocabulary) from the service's models."""
    from dropdesk import contract

    for path in contract.export():
        typer.echo(f"wrote {path}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Run the HTTP service."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "dropdesk.main:create_app", factory=True,
        host=host or settings.host, port=port or settings.port, log_level="info",
    )  # fmt: skip


@app.command()
def run(
    model: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Trained Rasa model.")],
    bot_venv: Annotated[Path, typer.Option(help="The bot runtime's virtualenv.")] = Path(
        ".venv-bot"
    ),
) -> None:
    """Start Rasa, the action server and the service; Ctrl-C stops all three."""
    from dropdesk import demo, devrun
    from dropdesk.auth.service import issue_merchant_token
    from dropdesk.config import ROOT

    settings = get_settings()
    endpoints = devrun.BOT_ENDPOINTS
    if settings.actions_port != devrun.ACTIONS_PORT:
        endpoints = devrun.write_endpoints(ROOT / "var" / "endpoints.yml", settings.actions_port)
    specs = devrun.processes(
        settings, model.resolve(), bot_venv.resolve(),
        actions_port=settings.actions_port, endpoints=endpoints,
    )  # fmt: skip
    log_dir = settings.log_dir
    # `kill` or a closed terminal stops everything too, as Ctrl-C does (no orphaned servers).
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    running = devrun.start(specs, log_dir, devrun.child_env(settings))
    try:
        typer.echo(f"starting Rasa, the action server and the service (logs in {log_dir}/) ...")
        failed = devrun.wait_healthy(specs, running, timeout=180)
        if failed:
            _fail(f"{failed} did not start; see {log_dir / failed}.log")
        try:
            took = devrun.warm_up(settings.rasa_url, settings.rasa_token)
            typer.echo(f"  rasa is warmed up ({took:.1f} s)")
        except httpx.HTTPError as exc:  # a cold first turn is slow, not broken
            typer.echo(f"  rasa warm-up failed ({exc}); the first replies may be slow")
        base = f"http://{settings.host}:{settings.port}"
        typer.echo(f"\nDropDesk is running.\n  portal    {base}/  (pick a demo merchant and chat)")
        typer.echo(f"  service   {base}  (API docs {base}/docs)")
        typer.echo(f"  rasa      {settings.rasa_url}")
        typer.echo(f"  actions   http://127.0.0.1:{settings.actions_port}")
        if settings.env != "production":
            with session_scope(settings.database_url) as db_session:
                name, password = demo.reset_demo_agent(db_session=db_session, now=now_shanghai())
            typer.echo(f"\nAgent console {base}/console/login\n  user {name}  password {password}")
            typer.echo("  (a supervisor; the password is new on every start)")
            typer.echo(f"  dashboard {base}/console/dashboard  (three weeks of demo history)")
        typer.echo("\nDemo merchants (chat API: Authorization: Bearer <token>):")
        for merchant in demo.MERCHANTS:
            token = issue_merchant_token(merchant_no=merchant.merchant_no, settings=settings)
            typer.echo(f"  {merchant.merchant_no} {merchant.name}\n    token {token}")
        typer.echo("\nCtrl-C stops everything.")
        # A process that dies is started again (1 s, 2 s, 4 s ... up to 30 s), and said so.
        supervisor = devrun.Supervisor(
            specs, running, log_dir, devrun.child_env(settings), say=typer.echo
        )
        while True:
            supervisor.poll()
            time.sleep(1)
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):  # stdout may be a pipe that is gone already
            typer.echo("\nstopping ...")
    finally:
        devrun.stop(running)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Entry point for `python -m dropdesk.cli`."""
    sys.exit(app())


if __name__ == "__main__":
    main()
