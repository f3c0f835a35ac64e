"""Evidence rules for reports in machine-readable and other non-default formats, and for policy.

Scanners, auditors and linters print JSON, SARIF, CSV or CI annotations as well as their
default text; each rule keys on a field name or URL only that tool's format carries, so a
report names its tool's failure type without the tool's usual summary line. Rust dependency
policy (cargo-deny's bans/licenses/sources, cargo-vet) is ``rust_deps``; its advisories are an
audit. Kubernetes validators and policy checkers (the API server's ``Status``, kubeconform,
kubeval, kube-linter, polaris, kyverno, conftest, checkov on manifests) are ``k8s_manifest``.
"""

from __future__ import annotations

from healer.vocabulary import FailureType as T
from healer_classifier.engine.rule import Rule
from healer_classifier.engine.rule import rule as _r

_Q = r"\s*:\s*"  # the `: ` between a JSON key and its value, however spaced
DENY_CODES = (  # cargo-deny's bans, licenses and sources findings (its diagnostic codes)
    r"banned|not-allowed|duplicate|wildcard|unmatched-skip|unnecessary-skip|allowed-by-wrapper|"
    r"unmatched-wrapper|unmatched-skip-root|build-script-not-allowed|exact-features-mismatch|"
    r"feature-not-explicitly-allowed|feature-banned|unknown-feature|default-feature-enabled|"
    r"checksum-mismatch|denied-by-extension|detected-executable|detected-executable-script|"
    r"unable-to-check-path|unmatched-bypass|unmatched-path-bypass|unmatched-glob|"
    r"unused-wrapper|workspace-duplicate|unresolved-workspace-dependency|"
    r"unused-workspace-dependency|non-root-path|replaced-in-std|unmatched-replacement-ignore|"
    r"rejected|unlicensed|license-not-encountered|license-exception-not-encountered|"
    r"missing-clarification-file|empty-license-field|no-license-field|gather-failure|"
    r"git-source-underspecified|source-not-allowed|unmatched-source|unmatched-organization"
)
DENY_ADVISORY_CODES = r"vulnerability|unmaintained|unsound|yanked"

AUDIT_REPORT_RULES: tuple[Rule, ...] = (
    _r(T.SECURITY_AUDIT, 3.5, '"auditReportVersion"', "npm audit JSON"),
    _r(T.SECURITY_AUDIT, 4.0, '"type":"auditAdvisory"', "yarn audit JSON"),
    _r(T.SECURITY_AUDIT, 3.5, '"Vulnerable Versions"', "yarn npm audit JSON"),
    _r(T.SECURITY_AUDIT, 2.5, '"vulnerable_versions"', "npm/pnpm audit advisory JSON"),
    _r(T.SECURITY_AUDIT, 3.5, '"fix_versions"', "pip-audit JSON"),
    _r(
        T.SECURITY_AUDIT,
        3.5,
        "Fix Versions",
        "pip-audit table",
        r"^\|?\s*Name\s*\|?\s+Version\s*\|?\s+ID\s*\|?\s+Fix Versions",
    ),
    _r(T.SECURITY_AUDIT, 3.0, '"vulnerability_id"', "safety JSON"),
    _r(
        T.SECURITY_AUDIT,
        3.5,
        "VulnerabilityID",
        "trivy report (JSON/YAML/tree)",
        r'VulnerabilityID"?\s*:\s*"?[A-Z]+-\w',
    ),
    _r(T.SECURITY_AUDIT, 3.0, '"matchDetails"', "grype JSON"),
    _r(T.SECURITY_AUDIT, 3.0, '"uniqueCount"', "snyk JSON"),
    _r(T.SECURITY_AUDIT, 3.0, '"max_severity"', "osv-scanner JSON"),
    _r(T.SECURITY_AUDIT, 3.0, '"finding"', "govulncheck JSON", r'"finding"\s*:\s*\{'),
    _r(T.SECURITY_AUDIT, 4.0, '"vulnerabilities":{"found":true', "cargo audit JSON"),
    _r(
        T.SECURITY_AUDIT,
        1.5,
        '"id"',
        "advisory id in a report",
        r'"id"\s*:\s*"(?:GHSA-\w{4}-|PYSEC-\d|RUSTSEC-\d|GO-\d{4}-)',
    ),
    _r(
        T.SECURITY_AUDIT,
        2.5,
        '"ruleId"',
        "SARIF vulnerability result",
        r'"ruleId"\s*:\s*"(?:CVE-\d{4}-|GHSA-|RUSTSEC-|PYSEC-|GO-\d{4}-)',
    ),
)

CODE_SCAN_REPORT_RULES: tuple[Rule, ...] = (
    _r(T.SECURITY_CODE_SCAN, 3.0, "issue_severity", "bandit report (JSON/YAML/CSV)"),
    _r(T.SECURITY_CODE_SCAN, 3.0, '"rule_id"', "gosec JSON", r'"rule_id"\s*:\s*"G\d{3}"'),
    _r(
        T.SECURITY_CODE_SCAN,
        2.5,
        '"ruleId"',
        "SARIF code scanning result",
        r'"ruleId"\s*:\s*"(?:(?:js|py|java|go|cs|cpp|rb|swift|actions)/|B[1-7]\d\d"|'
        r"[\w-]+(?:\.[\w-]+){2,}\")",
    ),
)

SECRET_REPORT_RULES: tuple[Rule, ...] = (
    _r(T.SECURITY_SECRET, 3.5, '"hashed_secret"', "detect-secrets JSON"),
    _r(T.SECURITY_SECRET, 3.5, '"RuleID"', "gitleaks JSON"),
    _r(T.SECURITY_SECRET, 3.5, '"DetectorName"', "trufflehog JSON"),
    _r(T.SECURITY_SECRET, 3.5, '"stringsFound"', "trufflehog (v2) JSON"),
    _r(T.SECURITY_SECRET, 2.5, "High Entropy", "trufflehog high-entropy finding"),
    _r(T.SECURITY_SECRET, 2.0, '"secret"', "trufflehog3 JSON secret", r'"secret"' + _Q + '"'),
    _r(T.SECURITY_SECRET, 4.0, "Matched one or more prohibited patterns", "git-secrets"),
    _r(T.SECURITY_SECRET, 4.0, "@secretlint/secretlint-rule-", "secretlint finding"),
    _r(T.SECURITY_SECRET, 4.0, "Push cannot contain secrets", "GitHub push protection"),
    _r(T.SECURITY_SECRET, 3.5, "GITHUB PUSH PROTECTION", "GitHub push protection"),
    _r(T.SECURITY_SECRET, 3.5, "Talisman Report", "talisman report"),
    _r(
        T.SECURITY_SECRET,
        3.0,
        "incident",
        "ggshield incident",
        r"\d+ incidents? (?:has been |have been )?found",
    ),
)

LINT_REPORT_RULES: tuple[Rule, ...] = (
    _r(T.PYTHON_LINT, 3.0, "docs.astral.sh/ruff/rules/", "ruff report (JSON/SARIF)"),
    _r(T.PYTHON_LINT, 3.5, "title=Ruff", "ruff GitHub annotation"),
    _r(T.PYTHON_LINT, 3.5, "org.ruff.", "ruff JUnit"),
    _r(T.PYTHON_LINT, 3.0, ".py:", "ruff/pylint line format", r"^\S+\.pyi?:\d+: \[[A-Z]+\d+[(\]]"),
    _r(T.PYTHON_LINT, 3.0, '"message-id"', "pylint JSON"),
    _r(T.PYTHON_LINT, 3.0, '"messageId"', "pylint JSON2", r'"messageId"' + _Q + r'"[CRWEFI]\d{4}"'),
    _r(T.PYTHON_LINT, 3.0, '"noqa_row"', "ruff JSON"),
    _r(
        T.PYTHON_LINT,
        2.0,
        '"code"',
        "ruff/flake8 JSON rule code",
        r'"code"' + _Q + r'"(?!DL\d|SC\d)[A-Z]{1,4}\d{3,4}"',
    ),
    _r(
        T.PYTHON_TYPE,
        3.5,
        '"severity"',
        "mypy JSON",
        r'"file"\s*:\s*"[^"]+\.pyi?",\s*"line".*"severity"\s*:\s*"error"',
    ),
    _r(T.PYTHON_TYPE, 3.0, '"generalDiagnostics"', "pyright JSON"),
    _r(T.PYTHON_TYPE, 3.0, '"rule"', "pyright JSON rule", r'"rule"\s*:\s*"report[A-Z]'),
    _r(T.FRONTEND_LINT, 3.5, '"filePath"', "eslint JSON", r'"filePath"' + _Q + r'"[^"]+",'),
    _r(T.FRONTEND_LINT, 2.0, '"errorCount"', "eslint JSON errors", r'"errorCount"' + _Q + "[1-9]"),
    _r(T.FRONTEND_LINT, 2.5, '"fatalErrorCount"', "eslint JSON"),
    _r(T.FRONTEND_LINT, 1.5, '"suppressedMessages"', "eslint JSON"),
    _r(T.FRONTEND_LINT, 2.0, '"rulesMeta"', "eslint json-with-metadata"),
    _r(T.FRONTEND_LINT, 1.5, '"nodeType"', "eslint JSON message", r'"nodeType"' + _Q + r'"[A-Z]'),
    _r(
        T.FRONTEND_LINT,
        3.5,
        ", col ",
        "eslint compact",
        r"^\S+\.(?:[cm]?[jt]sx?|vue|svelte|astro): line \d+, col \d+, (?:Error|Warning) - ",
    ),
    _r(T.FRONTEND_LINT, 3.5, "[Error/", "eslint unix", r"\[Error/[\w@/-]+\]$"),
    _r(T.FRONTEND_LINT, 3.5, 'source="eslint.rules.', "eslint checkstyle"),
    _r(T.FRONTEND_LINT, 3.5, "title=lint/", "biome GitHub annotation"),
    _r(T.FRONTEND_LINT, 3.0, '"category"', "biome JSON", r'"category"' + _Q + r'"lint/'),
    _r(T.RUST_CLIPPY, 4.0, '"code":"clippy::', "clippy JSON"),
    _r(T.RUST_CLIPPY, 2.5, '"ruleId"', "clippy SARIF", r'"ruleId"\s*:\s*"clippy::'),
    _r(
        T.RUST_BUILD,
        3.0,
        '"rendered":"error',
        "rustc JSON error",
        r'"rendered":"error(?:\[E\d{4}\])?: ',
    ),
)

# SARIF names its tool once, in tool.driver.informationUri.
SARIF_TOOL_RULES: tuple[Rule, ...] = tuple(
    _r(type_, 2.0, '"informationUri"', f"SARIF from {tool}", r'"informationUri".*' + pattern)
    for type_, tool, pattern in (
        (T.PYTHON_LINT, "ruff", r"astral-sh/ruff|docs\.astral\.sh/ruff"),
        (T.FRONTEND_LINT, "eslint", r"eslint\.org"),
        (T.SECURITY_CODE_SCAN, "a code scanner", r"semgrep|bandit|codeql|gosec|brakeman"),
        (T.SECURITY_AUDIT, "a vulnerability scanner", r"aquasecurity|grype|osv-scanner|snyk"),
        (
            T.SECURITY_SECRET,
            "a secret scanner",
            r"gitleaks|trufflehog|detect-secrets|noseyparker|ggshield|gitguardian|secretlint",
        ),
        (T.INFRA_IAC, "an IaC checker", r"tflint|checkov|tfsec|kics|terrascan|cfn-lint"),
        (T.K8S_MANIFEST, "a Kubernetes linter", r"kube-linter|kubeconform|polaris|kyverno"),
        (T.RUST_CLIPPY, "clippy", r"rust-clippy"),
    )
)

RUST_POLICY_RULES: tuple[Rule, ...] = (
    _r(T.RUST_DEPS, 4.0, "error[", "cargo deny policy", rf"^error\[(?:{DENY_CODES})\]"),
    _r(T.RUST_DEPS, 2.5, "warning[", "cargo deny warning", rf"^warning\[(?:{DENY_CODES})\]"),
    # Releases before 0.13 numbered their diagnostics: A (advisories), B, L, S (bans, licenses,
    # sources).
    _r(T.RUST_DEPS, 4.0, "error[", "cargo deny policy (numbered)", r"^error\[[BLS]0\d\d\]: "),
    _r(T.RUST_DEPS, 2.5, "warning[", "cargo deny warning (numbered)", r"^warning\[[BLS]0\d\d\]: "),
    _r(T.SECURITY_AUDIT, 3.5, "error[", "cargo deny advisory (numbered)", r"^error\[A0\d\d\]: "),
    _r(
        T.RUST_DEPS,
        4.0,
        " FAILED",
        "cargo deny checks",
        r"\b(?:bans|licenses|sources) FAILED\b",
    ),
    # --format json: {"type":"diagnostic","fields":{"code":…,"severity":…,"graphs":[{"Krate"…
    _r(T.RUST_DEPS, 3.5, '"code"', "cargo deny JSON", rf'"code"{_Q}"(?:{DENY_CODES})"'),
    _r(
        T.SECURITY_AUDIT,
        3.5,
        '"code"',
        "cargo deny advisory JSON",
        rf'"code"{_Q}"(?:{DENY_ADVISORY_CODES})"',
    ),
    _r(T.RUST_DEPS, 1.0, '"Krate"', "cargo deny JSON inclusion graph"),
    # Its fixed messages, current and from earlier releases.
    _r(
        T.RUST_DEPS,
        3.5,
        "' source not ",
        "cargo deny sources",
        r"detected '\w+' source not (?:explicitly|specifically) allowed",
    ),
    _r(T.RUST_DEPS, 3.0, "allowed source was not encountered", "cargo deny sources"),
    _r(T.RUST_DEPS, 3.5, "failed to satisfy license requirements", "cargo deny licenses"),
    _r(
        T.RUST_DEPS,
        3.0,
        " duplicate entries for crate ",
        "cargo deny duplicates",
        r"found \d+ duplicate entries for crate ",
    ),
    _r(T.RUST_DEPS, 3.0, "' is explicitly banned", "cargo deny banned crate"),
    _r(T.RUST_DEPS, 3.0, " wildcard dependenc", "cargo deny wildcard", r"found \d+ wildcard dep"),
    _r(T.RUST_DEPS, 4.0, "Vetting Failed!", "cargo vet"),
    _r(T.RUST_DEPS, 3.5, "unvetted dependencies", "cargo vet unvetted"),
    _r(T.RUST_DEPS, 2.0, "cargo vet certify", "cargo vet"),
    _r(
        T.RUST_DEPS,
        4.0,
        '"conclusion"',
        "cargo vet JSON",
        r'"conclusion"\s*:\s*"fail \((?:vetting|violation)\)"',
    ),
    _r(T.RUST_DEPS, 4.0, "found the following unused dependencies", "cargo machete"),
    _r(T.RUST_DEPS, 3.0, "unused dependencies:", "cargo udeps", r"^unused dependencies:$"),
)

K8S_POLICY_RULES: tuple[Rule, ...] = (
    _r(
        T.K8S_MANIFEST,
        3.5,
        "is invalid: ",
        "Kubernetes Status: invalid",
        r'[A-Z]\w*\.[\w.]+ \\?"[^"\\]+\\?" is invalid: |\\"[^"\\]+\\" is invalid: ',
    ),
    _r(T.K8S_MANIFEST, 3.5, '"reason"', "Kubernetes Status reason", r'"reason"' + _Q + '"Invalid"'),
    _r(
        T.K8S_MANIFEST,
        3.0,
        "FieldValue",
        "Kubernetes field error",
        r"FieldValue(?:Invalid|Required|NotSupported|Duplicate|TooLong|TooMany|Forbidden|"
        r"TypeInvalid)",
    ),
    _r(T.K8S_MANIFEST, 2.0, ": Required value", "Kubernetes field error"),
    _r(T.K8S_MANIFEST, 2.0, ": Unsupported value: ", "Kubernetes field error"),
    _r(T.K8S_MANIFEST, 4.0, "statusInvalid", "kubeconform JSON"),
    _r(T.K8S_MANIFEST, 2.5, "INVALID", "kubeconform JSON (older)", r'"status"' + _Q + '"INVALID"'),
    _r(
        T.K8S_MANIFEST,
        3.5,
        " is invalid: ",
        "kubeconform text",
        r"^\S+ - [A-Z]\w* \S+ is invalid: ",
    ),
    _r(
        T.K8S_MANIFEST,
        3.0,
        " failed validation: ",
        "kubeconform text",
        r"^\S+ - (?:[A-Z]\w* \S+ )?failed validation: ",
    ),
    _r(
        T.K8S_MANIFEST,
        3.0,
        "Summary: ",
        "kubeconform summary",
        r"^Summary: \d+ resources? found .* Invalid: (?:[1-9]|\d+, Errors: [1-9])",
    ),
    _r(
        T.K8S_MANIFEST,
        3.0,
        "not ok ",
        "kubeconform/kubeval TAP",
        r"^not ok \d+ - \S+\.(?:ya?ml|json) \(",
    ),
    # kubeval: `ERR  - file: Missing 'metadata' key`, `WARN - file contains an invalid Kind (…)`
    _r(
        T.K8S_MANIFEST,
        3.5,
        "ERR  - ",
        "kubeval error",
        r"^ERR  - \S+: (?:Missing '[\w.]+' (?:key|value)|Failed initializing schema)",
    ),
    _r(
        T.K8S_MANIFEST,
        3.5,
        " contains an invalid ",
        "kubeval invalid resource",
        r"^(?:WARN|ERR ) - \S+ contains an invalid \w+",
    ),
    _r(T.K8S_MANIFEST, 3.5, "problem validating schema", "kubeconform schema"),
    _r(T.K8S_MANIFEST, 3.5, "(object: ", "kube-linter finding", r"\(object: [^)]*, Kind=\w+\)"),
    _r(T.K8S_MANIFEST, 3.0, "lint errors", "kube-linter summary", r"found \d+ lint errors"),
    _r(
        T.K8S_MANIFEST,
        2.5,
        ", remediation: ",
        "kube-linter check",
        r"\(check: [a-z0-9-]+, remediation: ",
    ),
    _r(T.K8S_MANIFEST, 3.5, "Polaris audited", "polaris audit"),
    _r(T.K8S_MANIFEST, 3.5, "PolarisOutputVersion", "polaris JSON"),
    _r(T.K8S_MANIFEST, 3.0, "is less than the provided minimum", "polaris score"),
    _r(T.K8S_MANIFEST, 4.0, "-> resource ", "kyverno policy failed", r"-> resource \S+ failed"),
    _r(
        T.K8S_MANIFEST,
        3.5,
        "fail: ",
        "kyverno summary",
        r"pass: \d+, fail: [1-9]\d*, warn: \d+, error: \d+, skip: \d+",
    ),
    _r(T.K8S_MANIFEST, 4.0, "was blocked due to the following policies", "kyverno admission"),
    _r(T.K8S_MANIFEST, 3.0, "FAIL - ", "conftest on a manifest", r"^FAIL - \S+\.(?:ya?ml|json) - "),
    _r(
        T.K8S_MANIFEST,
        3.0,
        "kubernetes scan results:",
        "checkov Kubernetes results",
    ),
    _r(
        T.K8S_MANIFEST,
        3.5,
        '"check_type"',
        "checkov JSON on manifests",
        r'"check_type"' + _Q + '"(?:kubernetes|helm|kustomize)"',
    ),
    _r(
        T.K8S_MANIFEST,
        2.5,
        '"check_class"',
        "checkov check on manifests",
        r'"check_class"' + _Q + r'"checkov\.(?:kubernetes|helm|kustomize)\.',
    ),
)

REPORT_RULES: tuple[Rule, ...] = (
    *AUDIT_REPORT_RULES,
    *CODE_SCAN_REPORT_RULES,
    *SECRET_REPORT_RULES,
    *LINT_REPORT_RULES,
    *SARIF_TOOL_RULES,
    *RUST_POLICY_RULES,
    *K8S_POLICY_RULES,
)
