"""The signed bytes of an envelope's body are the ones its JSON reader keeps."""

from __future__ import annotations

import json

from healer.webhooks.envelope import raw_member


def test_a_repeated_member_gives_the_last_value_as_json_loads_does() -> None:
    doc = b'{"body": {"conclusion": "failure"}, "x": 1, "body" : {"conclusion": "success"} }'
    assert raw_member(doc, "body") == b'{"conclusion": "success"}'
    assert json.loads(raw_member(doc, "body") or b"") == json.loads(doc)["body"]


def test_a_value_is_found_only_in_a_whole_object() -> None:
    assert raw_member(b'{"body": {"a": 1}, "x": ', "body") is None
    assert raw_member(b'{"body": {"a": 1} "x": 2}', "body") is None
    assert raw_member(b'{"body": {"a": 1}}', "body") == b'{"a": 1}'
