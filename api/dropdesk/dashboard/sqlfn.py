"""Time arithmetic both backends compute the same way.

Times are stored in UTC: integer microseconds on SQLite, timestamp on PostgreSQL. Asia/Shanghai
has no DST, so a business day or hour is whole seconds plus eight hours, divided.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement
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
