"""Knative Trigger filter semantics: legacy attributes and the `filters` dialects."""

from __future__ import annotations

import pytest

from healer_dev.broker.filters import FilterError, compile_expression, compile_trigger_filter

EVENT = {
    "type": "dev.healer.failure.detected",
    "source": "healer/ingest",
    "healerrepo": "acme/widgets",
}


def test_legacy_attributes_are_an_exact_and_match() -> None:
    f = compile_trigger_filter(
        {"filter": {"attributes": {"type": EVENT["type"], "source": "healer/ingest"}}}
    )
    assert f.matches(EVENT)
    assert not f.matches({**EVENT, "source": "healer/classify"})
    assert not f.matches({"type": EVENT["type"]})  # a missing attribute never matches


def test_legacy_empty_value_means_present_with_any_value() -> None:
    f = compile_trigger_filter({"filter": {"attributes": {"healerrepo": ""}}})
    assert f.matches(EVENT)
    assert not f.matches({"type": "x"})


def test_no_filter_matches_everything() -> None:
    assert compile_trigger_filter({}).matches({"type": "anything"})


@pytest.mark.parametrize(
    ("expression", "matches"),
    [
        ({"exact": {"type": "dev.healer.failure.detected"}}, True),
        ({"exact": {"type": "dev.healer.failure"}}, False),
        ({"prefix": {"type": "dev.healer."}}, True),
        ({"prefix": {"type": "dev.knative."}}, False),
        ({"suffix": {"type": ".detected"}}, True),
        ({"suffix": {"type": ".classified"}}, False),
        ({"exact": {"missing": "x"}}, False),
        ({"all": [{"prefix": {"type": "dev."}}, {"exact": {"source": "healer/ingest"}}]}, True),
        ({"all": [{"prefix": {"type": "dev."}}, {"exact": {"source": "nope"}}]}, False),
        ({"any": [{"exact": {"type": "nope"}}, {"suffix": {"type": "detected"}}]}, True),
        ({"any": [{"exact": {"type": "nope"}}, {"exact": {"type": "nah"}}]}, False),
        ({"not": {"exact": {"type": "dev.healer.failure.detected"}}}, False),
        ({"not": {"exact": {"type": "other"}}}, True),
        ({"not": {"any": [{"exact": {"healerrepo": "acme/widgets"}}]}}, False),
    ],
)
def test_filter_dialects(expression: dict[str, object], matches: bool) -> None:
    assert compile_expression(expression).matches(EVENT) is matches


def test_filters_override_the_legacy_filter() -> None:
    spec = {
        "filter": {"attributes": {"type": "something.else"}},
        "filters": [{"exact": {"type": EVENT["type"]}}],
    }
    assert compile_trigger_filter(spec).matches(EVENT)


def test_filters_list_is_an_and() -> None:
    spec = {
        "filters": [{"prefix": {"type": "dev.healer."}}, {"exact": {"source": "healer/gather"}}]
    }
    assert not compile_trigger_filter(spec).matches(EVENT)


def test_empty_filters_fall_back_to_the_legacy_filter() -> None:
    spec = {"filter": {"attributes": {"type": "other"}}, "filters": []}
    assert not compile_trigger_filter(spec).matches(EVENT)


def test_cesql_is_rejected_with_a_clear_error() -> None:
    with pytest.raises(FilterError, match="cesql dialect is not supported"):
        compile_trigger_filter({"filters": [{"cesql": "type = 'x'"}]}, "trigger 'a'")


@pytest.mark.parametrize(
    "expression",
    [
        {"exact": {"type": "a", "source": "b"}},
        {"prefix": {"type": ""}},
        {"unknown": {"type": "a"}},
        {"exact": {"type": "a"}, "prefix": {"type": "b"}},
        {"any": []},
        "type=a",
    ],
)
def test_malformed_expressions_are_rejected(expression: object) -> None:
    with pytest.raises(FilterError):
        compile_expression(expression)
