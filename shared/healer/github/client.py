"""The GitHub REST client every stage uses: one method per call Healer makes.

The request machinery (auth, timeouts, retries, rate limits, pagination) lives in
:mod:`healer.github.session`; this module names the endpoints.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from healer.errors import InvalidInput
from healer.github.auth import AnonymousAuth, AppAuth, Auth, TokenAuth
from healer.github.exceptions import GitHubError, LogUnavailable, NotFound
from healer.github.pagination import PER_PAGE
from healer.github.session import (
    DEFAULT_API_URL,
    LOG_CHUNK_SIZE,
    REDIRECTS,
    GitHubSession,
)

if TYPE_CHECKING:
    from healer.settings import Settings

__all__ = ["DEFAULT_API_URL", "GitHubClient"]

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def _repo(repository: str) -> str:
    if not _REPO.match(repository):
        raise InvalidInput(f"repository {repository!r} is not of the form 'owner/name'")
    return repository


class GitHubClient(GitHubSession):
    """GitHub's REST API as Healer uses it; build one per instance with :meth:`from_settings`."""

    @classmethod
    def from_settings(cls, settings: Settings) -> GitHubClient:
        """Recorded responses if configured, else App auth, else a token, else anonymous."""
        transport: httpx.BaseTransport | None = None
        auth: Auth
        if settings.github_recorded_dir:
            from healer.github.recorded import RecordedTransport

            pushes = None
            if settings.github_pushes_dir:
                from healer.github.pushes import PushLedger

                pushes = PushLedger(settings.github_pushes_dir)
            transport = RecordedTransport(settings.github_recorded_dir, pushes)
            auth = AnonymousAuth()
        elif settings.github_app_id and settings.github_installation_id and settings.private_key():
            auth = AppAuth(
                settings.github_app_id, settings.private_key(), settings.github_installation_id
            )
        elif settings.github_token:
            auth = TokenAuth(settings.github_token)
        else:
            auth = AnonymousAuth()
        return cls(
            base_url=settings.github_api_url,
            auth=auth,
            timeout=settings.github_timeout,
            transport=transport,
        )

    # -- job logs --------------------------------------------------------------------------

    def stream_job_log(
        self, repo: str, job_id: int | str, *, chunk_size: int = LOG_CHUNK_SIZE
    ) -> Iterator[bytes]:
        """The job's plain-text log in chunks. The API answers 302 to a URL valid for about a
        minute: it is fetched at once, without the API credentials."""
        path = f"/repos/{_repo(repo)}/actions/jobs/{job_id}/logs"
        try:
            response = self._call("GET", path, follow=False)
        except NotFound as exc:
            raise LogUnavailable(
                f"log of job {job_id} in {repo} is gone ({exc.status_code})",
                status_code=exc.status_code,
            ) from exc
        if response.status_code in REDIRECTS and "location" in response.headers:
            return self._download(str(response.url.join(response.headers["location"])), chunk_size)
        return iter([response.content]) if response.content else iter(())

    # -- Actions ---------------------------------------------------------------------------

    def get_run(self, repo: str, run_id: int | str) -> dict[str, Any]:
        return self._get(f"/repos/{_repo(repo)}/actions/runs/{run_id}")

    def list_run_jobs(
        self, repo: str, run_id: int | str, attempt: int | None = None
    ) -> list[dict[str, Any]]:
        """Jobs of one run attempt (all pages); without ``attempt``, of the latest attempt."""
        base = f"/repos/{_repo(repo)}/actions/runs/{run_id}"
        if attempt is not None:
            return self._paginate(f"{base}/attempts/{attempt}/jobs", key="jobs")
        return self._paginate(f"{base}/jobs", {"filter": "latest"}, key="jobs")

    def get_job(self, repo: str, job_id: int | str) -> dict[str, Any]:
        return self._get(f"/repos/{_repo(repo)}/actions/jobs/{job_id}")

    def list_runs(
        self,
        repo: str,
        *,
        branch: str | None = None,
        head_sha: str | None = None,
        event: str | None = None,
        per_page: int = 20,
    ) -> list[dict[str, Any]]:
        """One page of workflow runs, newest first."""
        params: dict[str, str | int] = {"per_page": per_page}
        for name, value in (("branch", branch), ("head_sha", head_sha), ("event", event)):
            if value:
                params[name] = value
        data = self._get(f"/repos/{_repo(repo)}/actions/runs", params)
        runs = data.get("workflow_runs", [])
        return [run for run in runs if isinstance(run, dict)] if isinstance(runs, list) else []

    def rerun_failed_jobs(self, repo: str, run_id: int | str) -> None:
        self._call("POST", f"/repos/{_repo(repo)}/actions/runs/{run_id}/rerun-failed-jobs")

    # -- refs, commits, pull requests, checks ----------------------------------------------

    def get_repository(self, repo: str) -> dict[str, Any]:
        """The repository itself (``default_branch`` among the rest)."""
        return self._get(f"/repos/{_repo(repo)}")

    def get_branch(self, repo: str, branch: str) -> dict[str, Any]:
        """The branch and its head commit; ``NotFound`` when the branch is gone."""
        return self._get(f"/repos/{_repo(repo)}/branches/{quote(branch, safe='/')}")

    def pulls_for_commit(self, repo: str, sha: str) -> list[dict[str, Any]]:
        return self._paginate(f"/repos/{_repo(repo)}/commits/{sha}/pulls", limit=PER_PAGE)

    def get_pull(self, repo: str, number: int) -> dict[str, Any]:
        return self._get(f"/repos/{_repo(repo)}/pulls/{number}")

    def list_pull_files(self, repo: str, number: int, limit: int = 3000) -> list[dict[str, Any]]:
        """The PR's changed files, paginated; GitHub itself stops at 3,000."""
        return self._paginate(f"/repos/{_repo(repo)}/pulls/{number}/files", limit=limit)

    def get_commit(self, repo: str, sha: str) -> dict[str, Any]:
        return self._get(f"/repos/{_repo(repo)}/commits/{sha}")

    def compare(self, repo: str, base: str, head: str) -> dict[str, Any]:
        return self._get(
            f"/repos/{_repo(repo)}/compare/{quote(base, safe='/')}...{quote(head, safe='/')}"
        )

    def commits_since(self, repo: str, base: str, head: str) -> list[str]:
        """SHAs of the commits on ``head`` (a branch) that ``base`` (a SHA) lacks, oldest
        first: what was pushed since ``base``. GitHub lists at most 250; when there are more
        the newest are kept, so the last SHA is always the branch's head. ``NotFound`` when
        the branch (or the base commit) does not exist."""
        data = self.compare(repo, base, head)
        commits = data.get("commits")
        if not isinstance(commits, list):
            raise GitHubError(f"compare {base[:12]}...{head} answered no commit list")
        shas = [str(c["sha"]) for c in commits if isinstance(c, dict) and c.get("sha")]
        total = data.get("total_commits")
        if isinstance(total, int) and total > len(shas):
            head_sha = str((self.get_branch(repo, head).get("commit") or {}).get("sha") or "")
            if head_sha and (not shas or shas[-1] != head_sha):
                shas.append(head_sha)
        return shas

    def list_commits(
        self, repo: str, *, sha: str, since: str = "", limit: int = 250
    ) -> list[dict[str, Any]]:
        """Commits reachable from ``sha`` (a branch or SHA), newest first; with ``since`` (ISO
        8601) only those committed at or after it. Paginated up to ``limit``."""
        params: dict[str, str | int] = {"sha": sha}
        if since:
            params["since"] = since
        return self._paginate(f"/repos/{_repo(repo)}/commits", params, limit=limit)

    def list_check_runs(self, repo: str, ref: str) -> list[dict[str, Any]]:
        return self._paginate(
            f"/repos/{_repo(repo)}/commits/{quote(ref, safe='/')}/check-runs", key="check_runs"
        )

    def get_check_suite(self, repo: str, suite_id: int | str) -> dict[str, Any]:
        return self._get(f"/repos/{_repo(repo)}/check-suites/{suite_id}")

    # -- issues and advisories -------------------------------------------------------------

    def create_issue_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        response = self._call(
            "POST", f"/repos/{_repo(repo)}/issues/{number}/comments", json={"body": body}
        )
        return self._object(response)

    def create_issue(
        self, repo: str, title: str, body: str, labels: Sequence[str] = ()
    ) -> dict[str, Any]:
        payload = {"title": title, "body": body, "labels": list(labels)}
        return self._object(self._call("POST", f"/repos/{_repo(repo)}/issues", json=payload))

    def get_global_advisory(self, ghsa_id: str) -> dict[str, Any]:
        return self._get(f"/advisories/{quote(ghsa_id, safe='')}")
