"""The identity every payload carries, checked where it is parsed.

Task ids, repositories and attempt numbers end up in state keys, blob paths, CodeRun names and
branch names, and anyone who can reach the Broker can post a payload; so a payload whose
identity is not well-formed is refused at the door of every stage, not deep inside one.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

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


Repository = Annotated[str, AfterValidator(_repository)]
TaskId = Annotated[str, AfterValidator(_task_id)]
Attempt = Annotated[int, Field(ge=1)]  # attempts count from 1
RunId = Annotated[int, Field(ge=0)]  # 0: an alert, or a check suite whose run is not known yet
