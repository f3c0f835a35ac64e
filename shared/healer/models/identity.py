"""The identity every payload carries, checked where it is parsed.

Task ids, repositories, attempt numbers, branch names, commit SHAs and ids end up in state keys,
blob paths, GitHub API URLs, headers, CodeRun names and branch names, and anyone who can reach
the Broker can post a payload; so a payload whose identity is not well-formed is refused at the
door of every stage (a 400), not deep inside one (a 500 from an URL or a file name). The checks
themselves live in ``healer.identity``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from healer.identity import (
    MAX_ATTEMPT,
    MAX_ID,
    check_optional_ref,
    check_optional_repository,
    check_optional_sha,
    check_ref,
    check_repository,
    check_sha,
    check_task_id,
    check_url,
)

Repository = Annotated[str, AfterValidator(check_repository)]
TaskId = Annotated[str, AfterValidator(check_task_id)]
OptionalRepository = Annotated[str, AfterValidator(check_optional_repository)]
Attempt = Annotated[int, Field(ge=1, le=MAX_ATTEMPT)]  # attempts count from 1
RunId = Annotated[int, Field(ge=0, le=MAX_ID)]  # 0: an alert, or a check suite's unknown run
Id = Annotated[int, Field(ge=1, le=MAX_ID)]  # a job, check suite, installation, PR or alert
Branch = Annotated[str, AfterValidator(check_ref)]
OptionalBranch = Annotated[str, AfterValidator(check_optional_ref)]  # "" when not known
Sha = Annotated[str, AfterValidator(check_sha)]
OptionalSha = Annotated[str, AfterValidator(check_optional_sha)]
Url = Annotated[str, AfterValidator(check_url)]  # "" when not known
Token = Annotated[str, Field(max_length=255, pattern=r"^[\x21-\x7e]*$")]  # ids, names in keys
Key = Annotated[str, Field(max_length=1024, pattern=r"^[\x21-\x7e]*$")]  # a blob key
