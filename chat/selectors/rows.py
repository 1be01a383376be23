"""Model instances from the rows of hand-written SQL: the hot reads (a send's channel and user, the hub's message with
its sender, channel and thread) run one fixed statement instead of building an ORM query each time, and still get the
ORM's conversions and instances."""

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model


def model_from_row(model: type[Model], alias: str, values: Sequence[Any]) -> Any:
    """A model instance from its concrete columns (``select_list``'s order) as a raw cursor returned them."""
    names, columns = _columns(model, alias, connection.vendor)
    if len(values) != len(names):
        raise ValueError(f"{len(values)} values for the {len(names)} columns of {model.__name__}")
    converted = list(values)
    for index, column, converters in columns:
        value = converted[index]
        for converter in converters:
            value = converter(value, column, connection)
        converted[index] = value
    return model.from_db(connection.alias, names, converted)


def select_list(model: type[Model], alias: str) -> list[str]:
    """The model's concrete columns under the table alias ``alias``, in the order ``model_from_row`` reads them."""
    return [f"{alias}.{connection.ops.quote_name(str(field.column))}" for field in model._meta.concrete_fields]


@cache
def _columns(model: type[Model], alias: str, vendor: str) -> tuple[list[str], list[tuple[int, Any, list[Any]]]]:
    """The attribute names of the model's concrete fields, and those that have converters, with them (worked out
    once: it is most of the cost of ``model_from_row``)."""
    fields = model._meta.concrete_fields
    columns = []
    for index, model_field in enumerate(fields):
        column = model_field.get_col(alias)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            columns.append((index, column, converters))
    return [model_field.attname for model_field in fields], columns
