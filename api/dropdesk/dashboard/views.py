"""The supervisor dashboard under /console/dashboard: the page, its drill-downs and CSV files.

A supervisor sees the whole team; an agent sees the figures of their own tickets only, and
the server enforces it (team tables answer 403, every list is filtered to their tickets).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from dropdesk.agent.models import AgentRole
from dropdesk.console import pages
from dropdesk.console.security import ConsoleViewer, MaybeViewer, Viewer
from dropdesk.dashboard import drilldown, export, labels, page, service
from dropdesk.dashboard.facts import Scope
from dropdesk.dashboard.period import Period, parse
from dropdesk.deps import SessionDep, SettingsDep
from dropdesk.errors import ForbiddenError, NotFoundError
from dropdesk.timezone import now_shanghai

router = APIRouter(prefix="/dashboard")
CSS = Path(__file__).resolve().parent / "static" / "dashboard.css"
TEAM_TABLES = frozenset({"days", "hours", "codes", "outcomes", "reasons", "terminals",
                         "versions"})  # fmt: skip
OWN_TABLES = frozenset({"agents", "ratings", "conversations"})


def _period(request: Request) -> Period:
    q = request.query_params
    return parse(preset=q.get("range"), first=q.get("from"), last=q.get("to"), now=now_shanghai())


def _scope(viewer: Viewer) -> Scope:
    agent = viewer.agent
    return Scope() if agent.role == AgentRole.SUPERVISOR else Scope(agent_id=agent.id)


@router.get("/static/dashboard.css")
def stylesheet() -> FileResponse:
    return FileResponse(CSS, media_type="text/css; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})  # fmt: skip


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, viewer: MaybeViewer, settings: SettingsDep,
              db_session: SessionDep) -> Response:  # fmt: skip
    """Figures for the period: the team's for a supervisor, an agent's own otherwise."""
    if viewer is None:
        return RedirectResponse(f"/console/login?next={quote(request.url.path)}", 303)
    period, scope, now = _period(request), _scope(viewer), now_shanghai()
    links = page.Links(period)
    figures: dict[str, Any] = {"db_session": db_session, "period": period, "now": now}
    context: dict[str, object] = {
        "viewer": viewer, "active": "dashboard", "period": period, "links": links,
        "labels": labels, "team": scope.everyone, "minutes": page.minutes,
    }  # fmt: skip
    if not scope.everyone:
        context["queue"] = service.queue(**figures, scope=scope)
        context["ratings"] = service.ratings(**figures, scope=scope)
    else:
        found = service.team(database_url=settings.database_url, period=period, now=now)
        top, versions = found.terminals
        context |= {
            "queue": found.queue, "ratings": found.ratings,
            "traffic": found.traffic,
            "traffic_charts": page.traffic_charts(found.traffic, links),
            "outcomes": found.outcomes,
            "outcome_charts": page.outcome_charts(found.outcomes, links),
            "resolution": page.percent(found.outcomes.bot_resolved, found.outcomes.ended),
            "codes_count": page.codes_chart(found.codes, links, by="count"),
            "codes_amount": page.codes_chart(found.codes, links, by="amount"),
            "diagnosis": found.diagnosis, "diagnosis_kpis": page.diagnosis_kpis(found.diagnosis),
            "terminals": top, "versions_chart": page.versions_chart(versions, links),
        }  # fmt: skip
    context["ratings_chart"] = page.ratings_chart(context["ratings"], links)  # type: ignore[arg-type]
    return pages.render(request, "dashboard.html", context, settings=settings)


@router.get("/conversations", response_class=HTMLResponse)
def conversations(request: Request, viewer: MaybeViewer, settings: SettingsDep,
                  db_session: SessionDep) -> Response:  # fmt: skip
    """The conversations behind one figure, each linking to its session page."""
    if viewer is None:
        return RedirectResponse(f"/console/login?next={quote(request.url.path)}", 303)
    period, scope = _period(request), _scope(viewer)
    filters = _filters(request)
    rows = drilldown.conversations(db_session=db_session, period=period, now=now_shanghai(),
                                   scope=scope, filters=filters)  # fmt: skip
    links = page.Links(period)
    context = {
        "viewer": viewer, "active": "dashboard", "period": period, "rows": rows,
        "filters": filters, "labels": labels, "limit": drilldown.LIMIT,
        "csv": links.csv("conversations", **filters), "back": links.dashboard(),
    }  # fmt: skip
    return pages.render(request, "dashboard_conversations.html", context, settings=settings)


def _filters(request: Request) -> dict[str, str]:
    names = (*drilldown.CONVERSATION_FILTERS, *drilldown.TICKET_FILTERS)
    return {k: v[:64] for k, v in request.query_params.items() if k in names}


@router.get("/export/{table}.csv")
def csv_table(table: str, request: Request, viewer: ConsoleViewer,
              db_session: SessionDep) -> Response:  # fmt: skip
    """One table of the dashboard as CSV, for the same period (and the same scope)."""
    if table not in TEAM_TABLES | OWN_TABLES:
        raise NotFoundError("没有这张表")
    period, scope, now = _period(request), _scope(viewer), now_shanghai()
    if table in TEAM_TABLES and not scope.everyone:
        raise ForbiddenError("只有主管能导出全队数据")
    figures: dict[str, Any] = {"db_session": db_session, "period": period, "now": now}
    match table:
        case "days" | "hours":
            traffic = service.traffic(**figures)
            rows = export.days(traffic) if table == "days" else export.hours(traffic)
        case "codes":
            rows = export.codes(service.drop_codes(**figures))
        case "outcomes" | "reasons":
            found = service.outcomes(**figures)
            rows = export.outcomes(found) if table == "outcomes" else export.reasons(found)
        case "terminals" | "versions":
            top, versions = service.terminals(**figures, limit=1000)
            rows = export.terminals(top) if table == "terminals" else export.versions(versions)
        case "agents":
            queue = service.queue(**figures, scope=scope)
            rows = export.agents([*queue.agents, queue.overall])
        case "ratings":
            rows = export.ratings(service.ratings(**figures, scope=scope, limit=100_000))
        case _:
            rows = export.conversations(drilldown.conversations(
                **figures, scope=scope, filters=_filters(request)))  # fmt: skip
    name = f"dropdesk-{table}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.csv"
    return Response(export.render(rows), media_type="text/csv; charset=utf-8", headers={
        **pages.HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
