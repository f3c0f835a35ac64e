"""X-Hub-Signature-256 checks, against GitHub's documented test vector."""

from __future__ import annotations

import pytest

from healer.errors import Unauthorized
from healer.webhooks.signature import sign, verify

SECRET = "It's a Secret to Everybody"
BODY = b"Hello, World!"
EXPECTED = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_sign_matches_githubs_documented_vector() -> None:
    assert sign(SECRET, BODY) == EXPECTED


def test_verify_accepts_the_vector() -> None:
    verify(SECRET, EXPECTED, [BODY])


def test_verify_accepts_when_any_candidate_matches() -> None:
    verify(SECRET, EXPECTED, [b"{}", BODY])


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("", "missing"),
        ("sha1=757107ea0eb2509fc211221cce984b8a37570b6d", "sha256="),
        (EXPECTED[:-1] + "0", "does not match"),
        ("sha256=" + "0" * 64, "does not match"),
        ("sha256=", "does not match"),
        ("sha256=\u00e9\u00e9", "does not match"),
    ],
)
def test_verify_rejects(signature: str, message: str) -> None:
    with pytest.raises(Unauthorized, match=message) as caught:
        verify(SECRET, signature, [BODY])
    assert caught.value.status == 401


def test_verify_rejects_the_right_signature_over_other_bytes() -> None:
    with pytest.raises(Unauthorized):
        verify(SECRET, EXPECTED, [b"Hello, World!\n"])


def test_verify_rejects_a_signature_made_with_another_secret() -> None:
    with pytest.raises(Unauthorized):
        verify(SECRET, sign("another secret", BODY), [BODY])
