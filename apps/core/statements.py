"""Querysets of a fixed shape, run as SQL that the ORM built once per process.

For the chat's hottest reads the ORM spends far more CPU building a query than the database spends running it
(0.9-4 ms against about 0.1 ms on the benchmark machine), and those reads run before every answer's first token.
A ``Statement`` calls its ``build`` function once per database vendor with stand-in arguments, keeps the SQL the
ORM compiled from the queryset, and runs it again with each call's values: ``raw()`` gives model instances with
every field converted as the ORM would (``QuerySet.raw``), ``first()`` the first of them or None (the mapping of
columns to fields and their converters worked out once, not per call as ``QuerySet.raw`` does: about 0.2 ms of CPU
less per read), ``rows()`` plain tuples.

``build`` must return a queryset whose shape does not depend on its arguments' values (no ``if`` on them): the
arguments are only the stand-ins, which must reach the SQL unchanged as parameters. Each stand-in is a distinct
negative integer (a primary key) or a distinct marker string; a build whose SQL does not carry each of them
exactly as given fails loudly the first time it is used.

    _agent_of = Statement(lambda pk: Agent.objects.filter(pk=pk, deleted_at__isnull=True))
    agent = next(iter(_agent_of.raw(pk=42)), None)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import RawQuerySet

# Stand-ins: far outside any real primary key, and string markers no real value contains.
_FIRST_STAND_IN = -7_340_000_001


class _StandIn:
    def __init__(self, index: int, kind: str) -> None:
        self.value: Any = _FIRST_STAND_IN - index if kind == "int" else f"\x1fstand-in-{index}\x1f"


class Statement:
    def __init__(self, build: Callable[..., QuerySet], **kinds: str) -> None:
        """``kinds`` names each argument of ``build`` and whether it is an ``"int"`` (a primary key) or a ``"str"``;
        arguments not named are ints."""
        self._build = build
        self._kinds = kinds
        self._templates: dict[str, tuple[str, tuple[Any, ...], type]] = {}
        self._plans: dict[str, _RowPlan] = {}
        self._lock = threading.Lock()

    def _template(self, names: tuple[str, ...], using: str) -> tuple[str, tuple[Any, ...], type]:
        vendor = connections[using].vendor
        template = self._templates.get(vendor)
        if template is None:
            with self._lock:
                stand_ins = {name: _StandIn(i, self._kinds.get(name, "int")) for i, name in enumerate(names)}
                queryset = self._build(**{name: s.value for name, s in stand_ins.items()})
                sql, params = queryset.query.sql_with_params()
                by_value = {s.value: name for name, s in stand_ins.items()}
                slots = tuple(_slot(p, by_value) for p in params)
                missing = set(names) - {slot for slot in slots if isinstance(slot, str)}
                if missing:
                    raise ValueError(f"the statement's SQL does not carry {', '.join(sorted(missing))} as parameters")
                template = self._templates[vendor] = (sql, slots, queryset.model)
        return template

    def sql(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> tuple[str, list[Any]]:
        sql, slots, _model = self._template(tuple(values), using)
        return sql, [slot.value if isinstance(slot, _Literal) else values[slot] for slot in slots]

    def raw(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> RawQuerySet:
        """Model instances (annotations become attributes, unconverted)."""
        sql, params = self.sql(using, **values)
        return self._templates[connections[using].vendor][2].objects.raw(sql, params, using=using)

    def first(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> Any:
        """The first row as a model instance, converted exactly as ``raw()`` converts it, or None."""
        sql, params = self.sql(using, **values)
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
            if row is None:
                return None
            plan = self._plans.get(connection.vendor)
            if plan is None:
                model = self._templates[connection.vendor][2]
                plan = self._plans[connection.vendor] = _RowPlan(model, connection, cursor.description)
        return plan.instance(row, using, connection)

    def rows(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[tuple]:
        """Plain rows, unconverted (fit for text and integer columns)."""
        sql, params = self.sql(using, **values)
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


def _slot(param: Any, by_value: dict[Any, str]) -> str | _Literal:
    """The argument's name where the SQL carries a stand-in, else the literal the ORM put there."""
    if isinstance(param, int | str) and not isinstance(param, bool) and param in by_value:
        return by_value[param]
    return _Literal(param)


class _Literal:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _RowPlan:
    """What ``RawModelIterable`` works out for every query, once: which column is which field (the rest become
    attributes, as annotations do) and each field's converters (the backend's, then the field's)."""

    def __init__(self, model: type, connection, description) -> None:
        to_name = connection.introspection.identifier_converter
        columns = [to_name(column[0]) for column in description]
        fields = {to_name(field.column): field for field in model._meta.fields}
        init = [field for field in model._meta.fields if to_name(field.column) in columns]
        if model._meta.pk not in init:
            raise ValueError("the statement's SQL must select the primary key")
        self.model = model
        self.names = [field.attname for field in init]
        self.positions = [columns.index(to_name(field.column)) for field in init]
        self.annotations = [(column, pos) for pos, column in enumerate(columns) if column not in fields]
        self.converters = []
        for pos, column in enumerate(columns):
            field = fields.get(column)
            if field is None:
                continue
            expression = field.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
            if found:
                self.converters.append((pos, found, expression))

    def instance(self, row: tuple, using: str, connection) -> Any:
        values = list(row)
        for pos, converters, expression in self.converters:
            value = values[pos]
            for converter in converters:
                value = converter(value, expression, connection)
            values[pos] = value
        instance = self.model.from_db(using, self.names, [values[pos] for pos in self.positions])
        for column, pos in self.annotations:
            setattr(instance, column, values[pos])
        return instance
