"""Knative Trigger filters: the legacy ``filter.attributes`` and the ``filters`` dialects.

Filters see CloudEvent attributes (context attributes and extensions) only, never ``data``.
Legacy ``attributes`` is an AND of exact matches where an empty value means "present with any
value". The newer ``filters`` list (an AND of expressions) speaks ``exact``, ``prefix``,
``suffix``, ``all``, ``any`` and ``not``; when it is non-empty it overrides ``filter``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Attributes = Mapping[str, str]
Predicate = Callable[[Attributes], bool]

_SINGLE = ("exact", "prefix", "suffix")
_NESTED = ("all", "any")
DIALECTS = (*_SINGLE, *_NESTED, "not", "cesql")


class FilterError(ValueError):
    """A Trigger's filter cannot be understood; names the trigger part and what was expected."""


@dataclass(frozen=True)
class Filter:
    """A compiled Trigger filter; ``describe`` is a readable form for logs and errors."""

    predicate: Predicate
    describe: str

    def matches(self, attributes: Attributes) -> bool:
        return self.predicate(attributes)


def _legacy(attributes: Mapping[str, Any]) -> Filter:
    wanted = {str(k): "" if v is None else str(v) for k, v in attributes.items()}

    def predicate(attrs: Attributes) -> bool:
        for name, value in wanted.items():
            if name not in attrs:
                return False
            if value != "" and attrs[name] != value:
                return False
        return True

    text = " AND ".join(f"{k}={v or '*'}" for k, v in sorted(wanted.items())) or "everything"
    return Filter(predicate, text)


def _single(dialect: str, body: Any, where: str) -> Filter:
    if not isinstance(body, Mapping) or len(body) != 1:
        raise FilterError(
            f"{where}: '{dialect}' needs exactly one attribute: value pair, got {body!r}"
        )
    ((name, raw),) = body.items()
    value = str(raw)
    if value == "":
        raise FilterError(f"{where}: '{dialect}' value for {name!r} must not be empty")
    test: Callable[[str], bool] = {
        "exact": lambda actual: actual == value,
        "prefix": lambda actual: actual.startswith(value),
        "suffix": lambda actual: actual.endswith(value),
    }[dialect]

    def predicate(attrs: Attributes) -> bool:
        actual = attrs.get(str(name))
        return actual is not None and test(actual)

    return Filter(predicate, f"{dialect}({name}={value})")


def compile_expression(expression: Any, where: str = "filters") -> Filter:
    """One element of ``spec.filters``: a mapping with exactly one dialect key."""
    if not isinstance(expression, Mapping) or len(expression) != 1:
        raise FilterError(
            f"{where}: each filter expression must have exactly one dialect key "
            f"(one of {', '.join(DIALECTS)}), got {expression!r}"
        )
    ((dialect, body),) = expression.items()
    if dialect in _SINGLE:
        return _single(dialect, body, where)
    if dialect in _NESTED:
        if not isinstance(body, Sequence) or isinstance(body, str) or not body:
            raise FilterError(f"{where}: '{dialect}' needs a non-empty list of filter expressions")
        parts = [compile_expression(item, f"{where}.{dialect}[{i}]") for i, item in enumerate(body)]
        join = all if dialect == "all" else any
        return Filter(
            lambda attrs: join(p.matches(attrs) for p in parts),
            f"{dialect}({', '.join(p.describe for p in parts)})",
        )
    if dialect == "not":
        inner = compile_expression(body, f"{where}.not")
        return Filter(lambda attrs: not inner.matches(attrs), f"not({inner.describe})")
    if dialect == "cesql":
        raise FilterError(
            f"{where}: the cesql dialect is not supported by the local broker; "
            "express the filter with exact/prefix/suffix/all/any/not"
        )
    raise FilterError(
        f"{where}: unknown filter dialect {dialect!r}; expected one of {', '.join(DIALECTS)}"
    )


def compile_trigger_filter(spec: Mapping[str, Any], where: str = "trigger") -> Filter:
    """The filter of a Trigger ``spec``: ``filters`` when non-empty, else ``filter.attributes``."""
    filters = spec.get("filters")
    if filters:
        if not isinstance(filters, Sequence) or isinstance(filters, str):
            raise FilterError(f"{where}: spec.filters must be a list of filter expressions")
        parts = [
            compile_expression(item, f"{where}.spec.filters[{i}]") for i, item in enumerate(filters)
        ]
        return Filter(
            lambda attrs: all(p.matches(attrs) for p in parts),
            " AND ".join(p.describe for p in parts),
        )
    legacy = spec.get("filter") or {}
    if not isinstance(legacy, Mapping):
        raise FilterError(f"{where}: spec.filter must be a mapping")
    attributes = legacy.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise FilterError(
            f"{where}: spec.filter.attributes must be a mapping of attribute to value"
        )
    return _legacy(attributes)
