"""The identity every payload carries, checked where it is parsed.

Task ids, repositories, attempt numbers, branch names, commit SHAs and ids end up in state keys,
blob paths, GitHub API URLs, headers, CodeRun names and branch names, and anyone who can reach
the Broker can post a payload; so a payload whose identity is not well-formed is refused at the
door of every stage (a 400), not deep inside one (a 500 from an URL or a file name).
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

MAX_ID = 2**63 - 1  # GitHub's ids are 64-bit
MAX_ATTEMPT = 10_000
MAX_REF_BYTES = 255
MAX_URL = 2048
SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 object names
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")
_URL_FORBIDDEN = re.compile(r"[^\x21-\x7e]")
REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")
TASK_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,198}[a-z0-9])?")


def _repository(value: str) -> str:
    """GitHub's ``owner/name``; ``.`` and ``..`` are no repository's name (and a path step)."""
    if not REPOSITORY.fullmatch(value) or value.partition("/")[2] in (".", ".."):
        raise ValueError("must be 'owner/name' in GitHub's characters (letters, digits, - _ .)")
    return value


def _task_id(value: str) -> str:
    if not TASK_ID.fullmatch(value):
        raise ValueError(
            "must be lowercase letters, digits and '-' (at most 200), as "
            "'<owner>-<repo>-<run id>' is"
        )
    return value


def _ref(value: str) -> str:
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


def _optional_ref(value: str) -> str:
    return value if value == "" else _ref(value)


def _sha(value: str) -> str:
    if not SHA.fullmatch(value.lower()):
        raise ValueError("must be a commit SHA: 40 (or 64) hexadecimal digits")
    return value.lower()


def _optional_sha(value: str) -> str:
    return value if value == "" else _sha(value)


def _url(value: str) -> str:
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


def _optional_repository(value: str) -> str:
    return value if value == "" else _repository(value)


Repository = Annotated[str, AfterValidator(_repository)]
TaskId = Annotated[str, AfterValidator(_task_id)]
OptionalRepository = Annotated[str, AfterValidator(_optional_repository)]
Attempt = Annotated[int, Field(ge=1, le=MAX_ATTEMPT)]  # attempts count from 1
RunId = Annotated[int, Field(ge=0, le=MAX_ID)]  # 0: an alert, or a check suite's unknown run
Id = Annotated[int, Field(ge=1, le=MAX_ID)]  # a job, check suite, installation, PR or alert
Branch = Annotated[str, AfterValidator(_ref)]
OptionalBranch = Annotated[str, AfterValidator(_optional_ref)]  # "" when not known
Sha = Annotated[str, AfterValidator(_sha)]
OptionalSha = Annotated[str, AfterValidator(_optional_sha)]
Url = Annotated[str, AfterValidator(_url)]  # "" when not known
Token = Annotated[str, Field(max_length=255, pattern=r"^[\x21-\x7e]*$")]  # ids, names in keys
Key = Annotated[str, Field(max_length=1024, pattern=r"^[\x21-\x7e]*$")]  # a blob key
