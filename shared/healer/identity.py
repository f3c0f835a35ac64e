"""The identity checks every payload's fields get, as plain functions (no pydantic).

Task ids, repositories, attempt numbers, branch names, commit SHAs and ids end up in state keys,
blob paths, GitHub API URLs, headers, CodeRun names and branch names. The models
(``healer.models.identity``) wrap these checks as field types; ingest, which builds its events
without loading pydantic (a cold start's cost), calls them directly on what it emits.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_ID = 2**63 - 1  # GitHub's ids are 64-bit
MAX_ATTEMPT = 10_000
MAX_REF_BYTES = 255
MAX_URL = 2048
SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 object names
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")
_URL_FORBIDDEN = re.compile(r"[^\x21-\x7e]")
REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")
TASK_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,198}[a-z0-9])?")


def check_repository(value: str) -> str:
    """GitHub's ``owner/name``; ``.`` and ``..`` are no repository's name (and a path step)."""
    if not REPOSITORY.fullmatch(value) or value.partition("/")[2] in (".", ".."):
        raise ValueError("must be 'owner/name' in GitHub's characters (letters, digits, - _ .)")
    return value


def check_task_id(value: str) -> str:
    if not TASK_ID.fullmatch(value):
        raise ValueError(
            "must be lowercase letters, digits and '-' (at most 200), as "
            "'<owner>-<repo>-<run id>' is"
        )
    return value


def check_ref(value: str) -> str:
    """A branch or ref name as ``git check-ref-format --allow-onelevel`` accepts it, at most
    255 bytes; also not starting with ``-`` (it would read as an option)."""
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError("must be text (it holds a lone surrogate)") from None
    if size > MAX_REF_BYTES:
        raise ValueError(f"must be at most {MAX_REF_BYTES} bytes")
    if (
        _REF_FORBIDDEN.search(value)
        or value in ("", "@")
        or value.startswith(("-", "/"))
        or value.endswith(("/", ".", ".lock"))
        or any(part.startswith(".") or part.endswith(".lock") for part in value.split("/"))
    ):
        raise ValueError(
            "must be a git branch name (no control characters, spaces, '..', '~^:?*[\\', "
            "'@{' or '//'; no part starting with '.' or ending with '.lock')"
        )
    return value


def check_optional_ref(value: str) -> str:
    return value if value == "" else check_ref(value)


def check_sha(value: str) -> str:
    if not SHA.fullmatch(value.lower()):
        raise ValueError("must be a commit SHA: 40 (or 64) hexadecimal digits")
    return value.lower()


def check_optional_sha(value: str) -> str:
    return value if value == "" else check_sha(value)


def check_url(value: str) -> str:
    """Empty, or an absolute http(s) URL of printable ASCII (GitHub's ``html_url`` are)."""
    if value == "":
        return value
    if len(value) > MAX_URL or _URL_FORBIDDEN.search(value):
        raise ValueError(f"must be an http(s) URL of at most {MAX_URL} printable ASCII characters")
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ValueError(f"must be an http(s) URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    return value


def check_optional_repository(value: str) -> str:
    return value if value == "" else check_repository(value)
