"""Time arithmetic both backends compute the same way, and nearest-rank percentiles.

Times are stored in UTC: integer microseconds on SQLite, timestamp on PostgreSQL. Asia/Shanghai
has no DST, so a business day or hour is whole seconds plus eight hours, divided.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

SHANGHAI_OFFSET = 8 * 3600


def _per_backend(element: type[FunctionElement[Any]], **templates: str) -> None:
    """Compile a one-argument SQL function from a template per backend ({} is the argument)."""
    for dialect, template in templates.items():

        def render(fn: FunctionElement[Any], compiler: SQLCompiler, template: str = template,
                   **kw: Any) -> str:  # fmt: skip
            return template.format(compiler.process(fn.clauses, **kw))

        compiles(element, dialect)(render)


class epoch_seconds(FunctionElement[int]):
    """Whole seconds since the Unix epoch of a UTCDateTime column."""

    type = BigInteger()
    inherit_cache = True


_per_backend(
    epoch_seconds,
    sqlite="({} / 1000000)",
    # date_part is double precision: exact to the microsecond for these dates, and three times
    # as fast as EXTRACT, which is numeric since PostgreSQL 14 (the month's page computes it
    # some 100,000 times).
    postgresql="CAST(FLOOR(date_part('epoch', {})) AS BIGINT)",
)


class _Division(FunctionElement[int]):
    """Integer division of non-negative integers (floor on both backends)."""

    type = BigInteger()
    inherit_cache = True


@compiles(_Division)
def _division(element: _Division, compiler: SQLCompiler, **kw: Any) -> str:
    left, right = list(element.clauses)
    return f"(({compiler.process(left, **kw)}) / ({compiler.process(right, **kw)}))"


def idiv(left: Any, right: Any) -> ColumnElement[int]:
    return _Division(left, right)


def local_day(column: Any) -> ColumnElement[int]:
    """Days since 1970-01-01 in Asia/Shanghai (date.fromordinal(DAY0 + n) reads it back)."""
    return idiv(epoch_seconds(column) + SHANGHAI_OFFSET, 86400)


def local_hour(column: Any) -> ColumnElement[int]:
    """Hour of the day, 0-23, in Asia/Shanghai."""
    return idiv((epoch_seconds(column) + SHANGHAI_OFFSET) % 86400, 3600)


def seconds_between(start: Any, end: Any) -> ColumnElement[int]:
    return epoch_seconds(end) - epoch_seconds(start)


def rank_at(count: Any, percent: int) -> ColumnElement[int]:
    """The nearest rank of a percentile: ceil(count * percent / 100)."""
    return idiv(count * percent + 99, 100)


def percentiles(
    source: Select[Any],
    columns: tuple[str, ...] = ("v",),
    *,
    grouped: bool = False,
    percents: tuple[int, ...] = (50, 90),
    totals: tuple[str, ...] = (),
) -> Select[Any]:
    """Per group `g` (or overall): for each column, its count and nearest-rank percentiles.

    Answers `<column>_n` and `<column>_p50`, `<column>_p90` (NULLs left out), and the sum of
    each of `totals` as `<total>_sum`. The source is computed once (a materialized CTE): its
    columns may be costly subqueries that the ranking would otherwise repeat.
    """
    inner = source.cte("values_").prefix_with("MATERIALIZED")
    partition = [inner.c.g] if grouped else []
    ranks = []
    for name in columns:
        value = inner.c[name]
        order = [case((value.is_(None), 1), else_=0), value]  # NULLs last on both backends
        ranks += [
            value.label(name),
            func.row_number().over(partition_by=partition, order_by=order).label(f"{name}_rn"),
            func.count(value).over(partition_by=partition).label(f"{name}_n"),
        ]
    ranked = select(*partition, *ranks, *[inner.c[t] for t in totals]).subquery("ranked")
    aggregates = [func.coalesce(func.sum(ranked.c[t]), 0).label(f"{t}_sum") for t in totals]
    for name in columns:
        value, rn, n = ranked.c[name], ranked.c[f"{name}_rn"], ranked.c[f"{name}_n"]
        aggregates.append(func.max(n).label(f"{name}_n"))
        aggregates += [func.max(case((rn == rank_at(n, p), value))).label(f"{name}_p{p}")
                       for p in percents]  # fmt: skip
    query = select(*([ranked.c.g] if grouped else []), *aggregates)
    return query.group_by(ranked.c.g) if grouped else query
