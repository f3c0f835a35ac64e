"""hello-world that first loads what every GitHub-facing stage must: the floor under them.

It imports pydantic and validates one small model (every stage but ingest parses its event
with the shared models), and imports httpx and builds a transport as the GitHub client does
(httpcore loads then); nothing of Healer's own. What a stage costs above this row is its own.
"""

import os

import functions_framework

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # as the healer package does


@functions_framework.http
def floor(request):  # type: ignore[no-untyped-def]
    import httpx
    from pydantic import BaseModel, ConfigDict, Field

    class Ping(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        task_id: str = Field(min_length=1)
        attempt: int = Field(ge=1)

    Ping.model_validate({"task_id": "t", "attempt": 1})
    httpx.HTTPTransport(verify=False).close()  # the connection pool, without a CA bundle
    return "Hello world!"
