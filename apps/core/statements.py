"""Querysets of a fixed shape, run as SQL that the ORM built once per process.

For the chat's hottest reads the ORM spends far more CPU building a query than the database spends running it
(0.9-4 ms against about 0.1 ms on the benchmark machine), and those reads run before every answer's first token.
A ``Statement`` calls its ``build`` function once per database vendor with stand-in arguments, keeps the SQL the
ORM compiled from the queryset, and runs it again with each call's values: ``raw()`` gives model instances with
every field converted as the ORM would (``QuerySet.raw``), ``first()`` the first row exactly as the queryset gives
it, ``select_related`` instances and converted annotations included, or None (what Django's ``ModelIterable``
works out for every query, which columns make which instance and their converters, worked out once: about 0.2 ms
of CPU less per read than ``raw()``, 1.5 ms less than the queryset for the token row and its three relations),
``rows()`` plain tuples. ``send()`` runs it and leaves the result to read later: statements sent inside
``together()`` travel to PostgreSQL in one round trip (psycopg's pipeline mode), for reads that do not depend on
each other (the agent, the scanner settings and the history of a prompt).

``build`` must return a queryset whose shape does not depend on its arguments' values (no ``if`` on them): the
arguments are only the stand-ins, which must reach the SQL unchanged as parameters. Each stand-in is a distinct
negative integer (a primary key) or a distinct marker string; a build whose SQL does not carry each of them
exactly as given fails loudly the first time it is used.

    _agent_of = Statement(lambda pk: Agent.objects.filter(pk=pk, deleted_at__isnull=True))
    agent = next(iter(_agent_of.raw(pk=42)), None)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import ModelIterable, RawQuerySet, get_related_populators

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
        self._plans: dict[str, _RowPlan | None] = {}
        self._lock = threading.Lock()

    def _template(self, names: tuple[str, ...], using: str) -> tuple[str, tuple[Any, ...], type]:
        vendor = connections[using].vendor
        template = self._templates.get(vendor)
        if template is None:
            with self._lock:
                stand_ins = {name: _StandIn(i, self._kinds.get(name, "int")) for i, name in enumerate(names)}
                queryset = self._build(**{name: s.value for name, s in stand_ins.items()})
                compiler = queryset.query.get_compiler(using)
                sql, params = compiler.as_sql()  # also works out the compiler's select, klass_info, annotations
                by_value = {s.value: name for name, s in stand_ins.items()}
                slots = tuple(_slot(p, by_value) for p in params)
                missing = set(names) - {slot for slot in slots if isinstance(slot, str)}
                if missing:
                    raise ValueError(f"the statement's SQL does not carry {', '.join(sorted(missing))} as parameters")
                # A queryset of model instances has a plan for first(); values() and values_list() have none.
                model_rows = queryset._iterable_class is ModelIterable
                self._plans[vendor] = _RowPlan(compiler, using) if model_rows else None
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
        """The first row as the queryset itself would give it (a model instance, its ``select_related`` instances
        attached, every field and annotation converted), or None."""
        return self.send(using, **values).first()

    def rows(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[tuple]:
        """Plain rows, unconverted (fit for text and integer columns)."""
        return self.send(using, **values).rows()

    def send(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> Sent:
        """Run the statement and return its result unread: inside ``together()`` on PostgreSQL the statement only
        goes out, with the others of the block, and its rows arrive with theirs once the block ends."""
        sql, params = self.sql(using, **values)
        connection = connections[using]
        cursor = connection.cursor()
        try:
            cursor.execute(sql, params)
        except BaseException:
            cursor.close()
            raise
        return Sent(self._plans[connection.vendor], cursor, using)


class Sent:
    """A statement's result, read once with ``first()`` or ``rows()`` (which close its cursor)."""

    def __init__(self, plan: _RowPlan | None, cursor, using: str) -> None:
        self._plan, self._cursor, self._using = plan, cursor, using

    def first(self) -> Any:
        if self._plan is None:
            self._cursor.close()
            raise TypeError("first() needs a queryset of model instances; use rows() for values() and values_list()")
        with self._cursor as cursor:
            row = cursor.fetchone()
        return None if row is None else self._plan.instance(row, self._using, connections[self._using])

    def rows(self) -> list[tuple]:
        with self._cursor as cursor:
            return cursor.fetchall()


@contextmanager
def together(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Statements ``send()`` inside the block travel to the database together: one round trip for all of them on
    PostgreSQL (psycopg's pipeline mode), read after the block. Other databases run them one by one, as sent.
    Only for statements that do not depend on each other's results; an error in one fails the block."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    with connection.connection.pipeline():
        yield


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
    """What Django's ``ModelIterable`` works out for every query, once: which columns make the model's instance,
    the ``select_related`` instances (Django's own ``RelatedPopulator``) and the annotations, and each column's
    converters (the backend's, then the field's or the expression's)."""

    def __init__(self, compiler, using: str) -> None:
        klass_info, select = compiler.klass_info, compiler.select
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.names = [column[0].target.attname for column in select[self.start : self.end]]
        self.related = get_related_populators(klass_info, select, using)
        self.annotations = list(compiler.annotation_col_map.items())
        converters = compiler.get_converters([column[0] for column in select[: compiler.col_count]])
        self.converters = [(pos, found, expression) for pos, (found, expression) in converters.items()]

    def instance(self, row: tuple, using: str, connection) -> Any:
        values = list(row)
        for pos, converters, expression in self.converters:
            value = values[pos]
            for converter in converters:
                value = converter(value, expression, connection)
            values[pos] = value
        instance = self.model.from_db(using, self.names, values[self.start : self.end])
        for populator in self.related:
            populator.populate(values, instance)
        for name, pos in self.annotations:
            setattr(instance, name, values[pos])
        return instance
