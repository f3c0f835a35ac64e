"""Evidence rules for the repository's guards: security scanners, git, workflow files, hooks."""

from __future__ import annotations

import re

from functions.classify.engine.rule import Rule
from functions.classify.engine.rule import rule as _r
from healer.vocabulary import FailureType as T

_AUDIT_CMD = r"\baudit\b"
_PY_LINT_HOOK_IDS = (
    r"ruff|ruff-format|ruff-check|black|flake8|isort|pylint|autopep8|pyupgrade|pycodestyle|"
    r"pydocstyle|autoflake"
)
_SECRET_HOOK_IDS = (
    r"gitleaks|detect-secrets|detect-private-key|trufflehog|detect-aws-credentials|ggshield"
)
_ACTIONLINT = (
    r"\.ya?ml:\d+:\d+: .*\[(?:expression|syntax-check|shellcheck|runner-label|action|events|"
    r"job-needs|credentials|deprecated-commands|glob|permissions|workflow-call|matrix|id|env-var|"
    r"if-cond|pyflakes)\]$"
)


REPO_RULES: tuple[Rule, ...] = (
    # --- Security -------------------------------------------------------------------------
    _r(
        T.SECURITY_AUDIT,
        4.0,
        "vulnerabilit",
        "cargo audit",
        r"^error: \d+ vulnerabilit(?:y|ies) found",
    ),
    _r(T.SECURITY_AUDIT, 4.0, "known vulnerabilit", "pip-audit", r"Found \d+ known vulnerabilit"),
    _r(
        T.SECURITY_AUDIT,
        0.2,
        "vulnerabilit",
        "npm audit summary",
        r"found \d+ (?:\w+ severity )?vulnerabilit|^\d+ (?:\w+ severity )?vulnerabilit(?:y|ies) \(",
        boost=_AUDIT_CMD,
        boosted=3.5,
    ),
    _r(T.SECURITY_AUDIT, 3.5, "npm audit report", "npm audit report"),
    _r(
        T.SECURITY_AUDIT,
        3.5,
        "vulnerabilit",
        "yarn/pnpm audit",
        r"\d+ vulnerabilit(?:y|ies) found(?: - Packages audited|$)",
    ),
    _r(
        T.SECURITY_AUDIT,
        2.5,
        "RUSTSEC-",
        "RustSec advisory",
        r"^ID:\s+RUSTSEC-|error\[\w+\]: .*RUSTSEC",
    ),
    _r(T.SECURITY_AUDIT, 4.0, "error[vulnerability]", "cargo deny advisory"),
    _r(
        T.SECURITY_AUDIT,
        3.0,
        "error[",
        "cargo deny advisory",
        r"error\[(?:unsound|unmaintained|yanked|notice)\]",
    ),
    _r(T.SECURITY_AUDIT, 4.0, "advisories FAILED", "cargo deny advisories"),
    _r(
        T.SECURITY_AUDIT,
        3.5,
        "Total: ",
        "trivy summary",
        r"Total: \d+ \((?:UNKNOWN|LOW|MEDIUM|HIGH|CRITICAL)",
    ),
    _r(T.SECURITY_AUDIT, 3.0, "Vulnerability", "trivy table", r"Library\s*│\s*Vulnerability"),
    _r(T.SECURITY_AUDIT, 3.5, "INSTALLED", "grype table", r"NAME\s+INSTALLED\s+FIXED[ -]IN"),
    _r(T.SECURITY_AUDIT, 4.0, "at or above the severity threshold", "grype threshold"),
    _r(T.SECURITY_AUDIT, 4.0, "Your code is affected by", "govulncheck"),
    _r(T.SECURITY_AUDIT, 4.0, "Vulnerabilities found!", "bundler-audit"),
    _r(T.SECURITY_AUDIT, 3.0, "vulnerabilities reported", "safety report"),
    _r(T.SECURITY_AUDIT, 3.0, "OSV URL", "osv-scanner table"),
    _r(
        T.SECURITY_AUDIT,
        3.5,
        "Tested ",
        "snyk test summary",
        r"Tested \d+ dependencies for known (?:issues|vulnerabilities), found [1-9]",
    ),
    _r(T.SECURITY_AUDIT, 3.0, "severity vulnerability found in", "snyk finding"),
    _r(T.SECURITY_AUDIT, 3.0, "vulnerabilities were found", "audit action verdict", flags=re.I),
    _r(T.SECURITY_AUDIT, 0.3, "CVE-", "CVE mention", r"CVE-\d{4}-\d+"),
    _r(T.SECURITY_SECRET, 4.0, "leaks found", "gitleaks leaks found"),
    _r(T.SECURITY_SECRET, 4.0, "encountered leaks", "gitleaks action found leaks"),
    _r(T.SECURITY_SECRET, 2.5, "RuleID:", "gitleaks finding"),
    _r(T.SECURITY_SECRET, 4.0, "Found verified result", "trufflehog verified secret"),
    _r(T.SECURITY_SECRET, 3.5, "Found unverified result", "trufflehog unverified secret"),
    _r(T.SECURITY_SECRET, 2.5, "Detector Type:", "trufflehog detector"),
    _r(T.SECURITY_SECRET, 4.0, "Potential secrets about to be committed", "detect-secrets"),
    _r(T.SECURITY_SECRET, 2.5, "Secret Type:", "detect-secrets finding"),
    _r(T.SECURITY_SECRET, 4.0, " (secrets)", "trivy secret findings", r"^\S+ \(secrets\)$"),
    _r(T.SECURITY_SECRET, 4.0, '"Class": "secret"', "trivy secret findings (JSON)"),
    *(
        _r(
            T.SECURITY_SECRET,
            2.0,
            f"{level}: ",
            "trivy secret rule",
            rf"^{level}: [\w .-]+ \([a-z0-9]+(?:-[a-z0-9]+)+\)$",
        )
        for level in ("CRITICAL", "HIGH", "MEDIUM", "LOW")
    ),
    _r(
        T.SECURITY_SECRET,
        3.0,
        "Reason: ",
        "secret scanner finding",
        r"^Reason: (?:High Entropy|Generic Secret|"
        r"[\w ]*(?:Key|Token|Secret|Password|Credentials?))\b",
    ),
    _r(
        T.SECURITY_SECRET,
        3.0,
        "incident",
        "ggshield incident",
        r"\d+ incidents? (?:has been |have been )?detected",
    ),
    _r(
        T.SECURITY_SECRET,
        2.5,
        "Failed",
        "pre-commit secret hook",
        r"^(?:gitleaks|detect[- ]secrets|detect private key|Detect Private Key)[^.]*\.{3,}.*Failed",
    ),
    _r(T.SECURITY_CODE_SCAN, 3.0, "could not process the submitted SARIF", "code scanning upload"),
    _r(T.SECURITY_CODE_SCAN, 4.0, "unable to automatically build your code", "CodeQL autobuild"),
    _r(T.SECURITY_CODE_SCAN, 4.0, "Advanced Security must be enabled", "code scanning disabled"),
    _r(T.SECURITY_CODE_SCAN, 3.5, "but could not process any of it", "CodeQL extracted nothing"),
    _r(T.SECURITY_CODE_SCAN, 3.5, "No source code was seen during the build", "CodeQL saw no code"),
    _r(
        T.SECURITY_CODE_SCAN,
        3.5,
        "findings",
        "semgrep findings",
        r"Ran \d+ rules? on \d+ files?: [1-9]\d* findings?|[1-9]\d* (?:blocking|Code) Findings?",
    ),
    _r(
        T.SECURITY_CODE_SCAN,
        3.5,
        "Findings",
        "semgrep findings",
        r"[1-9]\d* (?:Blocking |Code )?Findings?\b",
    ),
    _r(T.SECURITY_CODE_SCAN, 3.5, ">> Issue: [B", "bandit issue"),
    _r(T.SECURITY_CODE_SCAN, 3.0, "(CWE-", "gosec issue", r"G\d{3} \(CWE-\d+\)"),
    _r(
        T.SECURITY_CODE_SCAN,
        2.0,
        "CodeQL",
        "CodeQL error",
        r"CodeQL.*(?:error|fail)|(?:error|fail).*CodeQL",
        flags=re.I,
    ),
    _r(T.SECURITY_CODE_SCAN, 3.0, "Security Warnings", "brakeman warnings"),
    _r(T.SECURITY_CODE_SCAN, 4.0, "Code scanning is not enabled", "code scanning disabled"),
    _r(
        T.SECURITY_CODE_SCAN,
        3.5,
        "AVD-",
        "trivy misconfiguration",
        r"AVD-[A-Z0-9]+-\d{4} \((?:LOW|MEDIUM|HIGH|CRITICAL|UNKNOWN)\)",
    ),
    _r(
        T.SECURITY_CODE_SCAN,
        3.0,
        "FAILURES: ",
        "trivy misconfiguration summary",
        r"Tests: \d+ \(SUCCESSES: \d+, FAILURES: [1-9]",
    ),
    _r(T.SECURITY_CODE_SCAN, 3.5, '"check_id":', "semgrep finding (JSON)"),
    _r(
        T.SECURITY_CODE_SCAN,
        3.0,
        "Failed checks: ",
        "checkov failed checks",
        r"Failed checks: [1-9]",
    ),
    _r(
        T.SECURITY_CODE_SCAN,
        3.0,
        "potential problem",
        "tfsec problems",
        r"[1-9]\d* potential problems? detected",
    ),
    _r(T.SECURITY_DEPENDABOT, 4.0, "Dependabot can't", "Dependabot error"),
    _r(T.SECURITY_DEPENDABOT, 4.0, "Dependabot couldn't", "Dependabot error"),
    _r(T.SECURITY_DEPENDABOT, 4.0, "Dependabot encountered", "Dependabot error"),
    _r(T.SECURITY_DEPENDABOT, 4.0, "Dependabot failed", "Dependabot error"),
    _r(T.SECURITY_DEPENDABOT, 3.5, "dependency_file_not_found", "Dependabot: dependency file"),
    _r(T.SECURITY_DEPENDABOT, 3.0, "update_not_possible", "Dependabot: update not possible"),
    _r(T.SECURITY_DEPENDABOT, 3.0, "pull_request_exists_for", "Dependabot: PR already exists"),
    _r(
        T.SECURITY_DEPENDABOT,
        3.0,
        "dependabot_",
        "Dependabot updater error",
        r"dependabot_(?:update|updater).*(?:error|fail)|(?:error|fail).*dependabot_update",
        flags=re.I,
    ),
    _r(
        T.SECURITY_DEPENDABOT,
        2.0,
        "updater |",
        "Dependabot updater error",
        r"updater \|.*\b(?:ERROR|error)\b",
    ),
    # --- Git and workflows ----------------------------------------------------------------
    _r(T.GIT_MERGE_CONFLICT, 4.0, "CONFLICT (", "git merge conflict"),
    _r(T.GIT_MERGE_CONFLICT, 4.0, "Automatic merge failed", "git merge failed"),
    _r(T.GIT_MERGE_CONFLICT, 3.0, "Merge conflict in", "git merge conflict"),
    _r(T.GIT_MERGE_CONFLICT, 3.0, "error: could not apply", "git rebase conflict"),
    _r(T.GIT_MERGE_CONFLICT, 3.0, "Resolve all conflicts manually", "git conflict"),
    _r(T.GIT_MERGE_CONFLICT, 3.0, "after resolving the conflicts", "git conflict"),
    _r(T.GIT_MERGE_CONFLICT, 3.0, "is not mergeable", "pull request not mergeable"),
    _r(T.GIT_MERGE_CONFLICT, 2.5, "would be overwritten by merge", "git merge blocked"),
    _r(T.GIT_MERGE_CONFLICT, 4.0, ": leftover conflict marker", "conflict marker committed"),
    _r(T.GIT_MERGE_CONFLICT, 5.0, "Merge conflict marker encountered", "conflict marker in source"),
    _r(T.GIT_MERGE_CONFLICT, 5.0, "encountered diff marker", "conflict marker in source"),
    _r(
        T.GIT_MERGE_CONFLICT,
        1.5,
        "Updates were rejected because",
        "push rejected: branch diverged",
        r"Updates were rejected because (?:the remote contains work|the tip of your current)",
    ),
    _r(
        T.GIT_MERGE_CONFLICT,
        2.0,
        "conflicts",
        "merge conflicts",
        r"\bmerge conflicts?\b",
        flags=re.I,
    ),
    _r(T.GIT_PERMISSION, 4.0, "remote: Permission to", "git push denied"),
    _r(T.GIT_PERMISSION, 4.0, "returned error: 40", "git HTTP 401/403", r"returned error: 40[13]"),
    _r(T.GIT_PERMISSION, 4.0, "Resource not accessible by integration", "token lacks permission"),
    _r(T.GIT_PERMISSION, 4.0, "Permission denied (publickey", "SSH key denied"),
    _r(
        T.GIT_PERMISSION,
        4.0,
        "refusing to allow",
        "GitHub App workflow scope",
        r"refusing to allow an? (?:GitHub App|OAuth App|Personal Access Token)",
    ),
    _r(T.GIT_PERMISSION, 4.0, "protected branch hook declined", "protected branch"),
    _r(T.GIT_PERMISSION, 4.0, "GH006", "protected branch"),
    _r(T.GIT_PERMISSION, 3.5, "Invalid username or", "git credentials invalid"),
    _r(T.GIT_PERMISSION, 3.5, "Authentication failed for", "git authentication failed"),
    _r(T.GIT_PERMISSION, 3.5, "could not read Username", "git credentials missing"),
    _r(T.GIT_PERMISSION, 3.0, "Bad credentials", "bad credentials"),
    _r(T.GIT_PERMISSION, 3.0, "requested access to the resource is denied", "registry push denied"),
    _r(T.GIT_PERMISSION, 3.0, "denied: permission_denied", "registry permission"),
    _r(
        T.GIT_PERMISSION,
        3.0,
        "Error response from daemon: ",
        "registry refused credentials",
        r"Error response from daemon: .*(?:\bdenied\b|unauthorized|authentication required)",
    ),
    _r(T.GIT_PERMISSION, 3.0, "unauthorized: authentication required", "registry login required"),
    _r(T.GIT_PERMISSION, 2.5, "Repository not found", "repository not found"),
    _r(T.GIT_PERMISSION, 3.5, "pre-receive hook declined", "push declined by server hook"),
    _r(
        T.GIT_PERMISSION,
        2.5,
        "[remote rejected]",
        "push rejected by remote",
        r"! \[remote rejected\] \S+ -> \S+ \((?!shallow update)",
    ),
    _r(T.GIT_PERMISSION, 1.0, "failed to push some refs", "git push failed"),
    _r(
        T.GIT_PERMISSION,
        3.0,
        "fatal: repository '",
        "repository unreachable (private or missing)",
        r"fatal: repository '[^']+' (?:not found|does not exist)",
    ),
    _r(
        T.GIT_PERMISSION,
        3.0,
        "insufficient permission for adding an object",
        "remote repository not writable",
    ),
    _r(T.GIT_PERMISSION, 3.0, "unable to create temporary object directory", "remote not writable"),
    _r(
        T.GIT_PERMISSION,
        2.0,
        "remote: ",
        "remote refused access",
        r"^remote: .*(?:[Aa]ccess denied|[Pp]ermission denied|is protected|not allowed|read-only)",
    ),
    _r(
        T.GIT_PERMISSION,
        2.0,
        "Forbidden",
        "HTTP 403",
        r"\b403\b.*Forbidden|Forbidden.*\b403\b|HttpError: .*403",
    ),
    _r(T.GIT_PERMISSION, 2.5, "failed with status: 403", "GitHub API refused (403)"),
    _r(T.GIT_PERMISSION, 2.5, "with status code 403", "GitHub API refused (403)"),
    _r(T.GITHUB_WORKFLOW, 4.0, "Invalid workflow file", "invalid workflow file"),
    _r(T.GITHUB_WORKFLOW, 4.0, "The workflow is not valid", "invalid workflow"),
    _r(T.GITHUB_WORKFLOW, 4.0, "Unable to resolve action", "unresolvable action"),
    _r(T.GITHUB_WORKFLOW, 4.0, "Can't find 'action.y", "missing action.yml"),
    _r(T.GITHUB_WORKFLOW, 4.0, "An action could not be found at the URI", "missing action"),
    _r(T.GITHUB_WORKFLOW, 4.0, "Missing download info for", "missing action download"),
    _r(T.GITHUB_WORKFLOW, 4.0, "uses a deprecated version of", "deprecated action"),
    _r(T.GITHUB_WORKFLOW, 3.5, "Input required and not supplied", "missing action input"),
    _r(T.GITHUB_WORKFLOW, 3.5, "Unrecognized named-value", "bad expression"),
    _r(T.GITHUB_WORKFLOW, 3.0, "Unrecognized function", "bad expression"),
    _r(T.GITHUB_WORKFLOW, 3.5, "Required property is missing", "workflow schema"),
    _r(T.GITHUB_WORKFLOW, 3.0, "Unexpected value '", "workflow schema"),
    _r(T.GITHUB_WORKFLOW, 3.0, "A mapping was not expected", "workflow schema"),
    _r(T.GITHUB_WORKFLOW, 3.5, "The template is not valid", "workflow template"),
    _r(T.GITHUB_WORKFLOW, 3.0, "Unable to process file command", "workflow file command"),
    _r(
        T.GITHUB_WORKFLOW,
        4.0,
        "::$",
        "workflow schema violation",
        r"\.github/(?:workflows/\S+|actions/\S+/action)\.ya?ml::\$",
    ),
    _r(
        T.GITHUB_WORKFLOW,
        0.5,
        "Schema validation errors were encountered",
        "check-jsonschema failure",
        boost=r"github-(?:workflows|actions)|\.github/",
        boosted=3.5,
    ),
    _r(
        T.GITHUB_WORKFLOW,
        4.0,
        "workflows/",
        "actionlint finding",
        r"\.github/workflows/\S+\.ya?ml:\d+:\d+: .*\[[a-z-]+\]$",
    ),
    *(
        _r(T.GITHUB_WORKFLOW, 3.0, needle, "actionlint finding", _ACTIONLINT)
        for needle in (".yml:", ".yaml:")
    ),
    # --- pre-commit: a failed hook prints its id ----------------------------------------
    *(
        _r(type_, 3.0, "- hook id: ", "pre-commit hook failed", rf"^- hook id: (?:{ids})$")
        for type_, ids in (
            (T.PYTHON_LINT, _PY_LINT_HOOK_IDS),
            (T.PYTHON_TYPE, r"mypy|pyright"),
            (T.FRONTEND_LINT, r"eslint|prettier|biome(?:-\w+)?|stylelint|standard"),
            (T.FRONTEND_TYPESCRIPT, r"tsc|typescript|vue-tsc"),
            (T.YAML_SYNTAX, r"yamllint|check-yaml"),
            (T.SECURITY_SECRET, _SECRET_HOOK_IDS),
            (T.SECURITY_CODE_SCAN, r"bandit|semgrep|gosec"),
            (T.GITHUB_WORKFLOW, r"actionlint(?:-\w+)?|check-github-(?:workflows|actions)"),
            (T.RUST_CLIPPY, r"fmt|rustfmt|cargo-fmt|clippy|cargo-clippy"),
            (T.RUST_BUILD, r"cargo-check"),
        )
    ),
)
