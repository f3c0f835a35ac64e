"""Evidence rules for scanners whose reports carry no compiler-style summary line.

Secret scanners (ggshield, Nosey Parker, talisman, detect-secrets), infrastructure-as-code
policy scanners (KICS, Terrascan, cfn-lint, tflint's plugin rulesets), Kubernetes auditors
(kube-linter's JSON, kubeaudit, conftest's JSON), PHP's ``composer audit`` and cargo-deny's
SARIF and cargo-vet's policy errors. Each rule keys on what the tool itself prints in each of
its formats: a JSON key or rule-id scheme only that tool uses, or one of its fixed messages.
"""

from __future__ import annotations

from healer.vocabulary import FailureType as T
from healer_classifier.engine.rule import Rule
from healer_classifier.engine.rule import rule as _r
from healer_classifier.engine.rules_reports import DENY_ADVISORY_CODES, DENY_CODES

_Q = r"\s*:\s*"  # the `: ` between a JSON key and its value, however spaced
_TFLINT = r"^(?:\S+:\d+:\d+: )?(?:Error|Warning|Notice)(?::| -) .+ \({prefix}[a-z0-9_]+\)$"

SECRET_SCANNER_RULES: tuple[Rule, ...] = (
    # ggshield: `secret scan … --json` and its text incident header.
    _r(T.SECURITY_SECRET, 4.0, "entities_with_inc", "ggshield JSON", r'"entities_with_incidents"'),
    _r(
        T.SECURITY_SECRET,
        2.5,
        "total_incidents",
        "ggshield JSON incident count",
        r'"total_incidents"' + _Q + "[1-9]",
    ),
    _r(
        T.SECURITY_SECRET,
        3.5,
        "Ignore with SHA",
        "ggshield incident",
        r"\(Ignore with SHA: [0-9a-f]{64}\)",
    ),
    # gitleaks: its CSV report's header and the SARIF result message.
    _r(
        T.SECURITY_SECRET,
        4.0,
        "RuleID,Commit,File",
        "gitleaks CSV report",
        r"^RuleID,Commit,File,(?:SymlinkFile,)?Secret,Match,",
    ),
    _r(
        T.SECURITY_SECRET,
        4.0,
        "has detected secret for file",
        "gitleaks SARIF finding",
    ),
    # Nosey Parker: `report --format json|jsonl` (current and 0.x keys) and its text report.
    _r(
        T.SECURITY_SECRET,
        4.0,
        "rule_text_id",
        "Nosey Parker report",
        r'"rule_text_id"' + _Q + r'"np\.',
    ),
    _r(
        T.SECURITY_SECRET,
        3.5,
        "match_content",
        "Nosey Parker report (0.x)",
        r'"rule_name"' + _Q + r'"[^"]+".*"match_content"|"match_content".*"rule_name"',
    ),
    _r(
        T.SECURITY_SECRET,
        2.5,
        "Finding 1/",
        "Nosey Parker text finding",
        r"^Finding 1/\d+(?: \(id [0-9a-f]+\))?$",
    ),
    # talisman: `--scan` JSON report and its fixed finding messages.
    _r(T.SECURITY_SECRET, 3.5, "failure_list", "talisman JSON report", r'"failure_list"'),
    _r(
        T.SECURITY_SECRET,
        3.0,
        "secret pattern : ",
        "talisman finding",
        r"Potential secret pattern : ",
    ),
    _r(
        T.SECURITY_SECRET,
        3.0,
        "to not to contain",
        "talisman finding",
        r"Expected file to not to contain (?:hex|base64) encoded texts|"
        r"Expected file to not to contain credit card numbers",
    ),
    # detect-secrets: the pre-commit hook's report.
    _r(
        T.SECURITY_SECRET,
        4.0,
        "about to be committed",
        "detect-secrets hook",
        r"Potential secrets about to be committed to git repo",
    ),
    _r(T.SECURITY_SECRET, 2.0, "Secret Type: ", "detect-secrets finding", r"^\s*Secret Type: \w"),
)

IAC_SCANNER_RULES: tuple[Rule, ...] = (
    # KICS: JSON report keys and the console's per-query header.
    _r(T.INFRA_IAC, 3.5, "queries_failed_to", "KICS JSON report", r'"queries_failed_to_execute"'),
    _r(T.INFRA_IAC, 2.5, "similarity_id", "KICS JSON finding", r'"similarity_id"'),
    _r(
        T.INFRA_IAC,
        3.5,
        ", Results: ",
        "KICS finding",
        r"^.+, Severity: (?:CRITICAL|HIGH|MEDIUM|LOW|INFO|TRACE), Results: [1-9]\d*$",
    ),
    # Terrascan: JSON/YAML violations and the human report's summary.
    _r(
        T.INFRA_IAC,
        3.0,
        "rule_id",
        "Terrascan violation",
        r'rule_id"?' + _Q + r'"?(?:accurics\.\w+\.\w+\.\d+|AC_(?:AWS|AZURE|GCP|GITHUB)_\d{4})',
    ),
    _r(
        T.INFRA_IAC,
        3.5,
        "iolated",
        "Terrascan summary",
        r'^\s*Violated Policies\s*:\s*[1-9]|"violated_policies"' + _Q + "[1-9]",
    ),
    # cfn-lint: every format names its rules' source; `-f parseable` lines.
    _r(T.INFRA_IAC, 3.5, "cloudformation/cfn-", "cfn-lint rule source", r"aws-cloudformation/cfn-"),
    *(
        _r(
            T.INFRA_IAC,
            3.5,
            f":{level}",
            "cfn-lint parseable",
            rf"^\S+\.(?:ya?ml|json|template):\d+:\d+:\d+:\d+:{level}\d{{4}}:",
        )
        for level in ("E", "W")
    ),
    # cfn-lint's default format (`E3012 message at Resources/X/…` above `file:line:col`) and the
    # `[cfn-lint] W2510: …` form editors and SAM print.
    _r(T.INFRA_IAC, 4.0, "[cfn-lint] ", "cfn-lint finding", r"\[cfn-lint\] [EWI]\d{4}: "),
    *(
        _r(
            T.INFRA_IAC,
            3.0,
            f" at {section}/",
            "cfn-lint finding",
            rf"^[EW]\d{{4}} .+ at {section}/\S+$",
        )
        for section in ("Resources", "Parameters", "Outputs", "Conditions", "Mappings")
    ),
    _r(
        T.INFRA_IAC,
        3.0,
        "'cfn-lint'",
        "cfn-lint run failed",
        r"Command '\['cfn-lint'.*' returned non-zero exit status [1-9]",
    ),
    # trivy `config`: the target header names the scanned format (decisive: its summary line and
    # a `trivy config` step otherwise read as a code scan); cloud checks are AVD-<cloud>-NNNN.
    _r(
        T.INFRA_IAC,
        5.0,
        "(terraform",
        "trivy config on Terraform/CloudFormation",
        r"^\S*\s?\((?:terraform|terraformplan-json|terraformplan-snapshot)\)$",
    ),
    _r(
        T.INFRA_IAC,
        4.0,
        "(cloudformation)",
        "trivy config on Terraform/CloudFormation",
        r"^\S*\s?\(cloudformation\)$",
    ),
    _r(
        T.INFRA_IAC,
        4.0,
        "(azure-arm)",
        "trivy config on Terraform/CloudFormation",
        r"^\S*\s?\(azure-arm\)$",
    ),
    _r(
        T.INFRA_IAC,
        3.0,
        "AVD-",
        "trivy cloud misconfiguration",
        r"AVD-(?:AWS|AZU|GCP|DIG|OCI|OPNSTK|CLDSTK|NIF|GIT)-\d{4}",
    ),
    # tflint plugin rulesets: `Error: … (aws_instance_invalid_type)`, compact `f:1:2: Error - …`.
    *(
        _r(T.INFRA_IAC, 3.0, f"({prefix}", "tflint ruleset finding", _TFLINT.format(prefix=prefix))
        for prefix in ("aws_", "azurerm_", "google_", "terraform_")
    ),
    # OpenTofu's wording of a provider it cannot install (Terraform's is in rules_infra).
    _r(
        T.INFRA_IAC,
        3.5,
        "resolve provider packages",
        "OpenTofu provider install",
        r"Failed to resolve provider packages",
    ),
    _r(
        T.INFRA_IAC,
        2.5,
        "available releases match",
        "provider version",
        r"no available releases match the given constraints",
    ),
)

K8S_AUDITOR_RULES: tuple[Rule, ...] = (
    # kubescape: a failed control's header and summary, and its score thresholds.
    _r(
        T.K8S_MANIFEST,
        4.0,
        "[control: ",
        "kubescape control failed",
        r"\[control: [^\]]+\] failed",
    ),
    _r(
        T.K8S_MANIFEST,
        2.5,
        "Excluded:",
        "kubescape summary",
        r"Summary - Passed:\s*\d+\s+(?:Excluded|Action Required):\s*\d+\s+Failed:\s*[1-9]",
    ),
    _r(
        T.K8S_MANIFEST,
        4.0,
        "permitted threshold",
        "kubescape threshold",
        r"(?:risk-score|compliance score|score) [\d.]+%? is (?:above|below) permitted threshold",
    ),
    # kyverno `apply -t`/`test`: the results table's header and a failing row.
    _r(
        T.K8S_MANIFEST,
        2.0,
        "RESOURCE",
        "kyverno results table",
        r"POLICY\s*[│|]\s*RULE\s*[│|]\s*RESOURCE\s*[│|]\s*RESULT",
    ),
    _r(
        T.K8S_MANIFEST,
        2.0,
        " policy rule",
        "kyverno apply",
        r"^Applying \d+ policy rules? (?:\(\w+\) )?to \d+ resources?",
    ),
    _r(T.K8S_MANIFEST, 2.0, "│ Fail ", "kyverno failed result", r"│\s*Fail\s*│"),
    # kube-linter `--format json`: its checks' scope, reports and summary.
    _r(T.K8S_MANIFEST, 2.0, '"objectKinds"', "kube-linter JSON check"),
    _r(T.K8S_MANIFEST, 3.5, '"K8sObject"', "kube-linter JSON report"),
    _r(
        T.K8S_MANIFEST,
        3.5,
        '"ChecksStatus"',
        "kube-linter JSON summary",
        r'"ChecksStatus"' + _Q + '"Failed"',
    ),
    # kubeaudit: JSON and logfmt carry the audit name; the pretty format prints `-- [error] X`.
    _r(T.K8S_MANIFEST, 4.0, "AuditResultName", "kubeaudit finding"),
    _r(T.K8S_MANIFEST, 3.0, "-- [", "kubeaudit finding", r"^-- \[(?:error|warning)\] [A-Z]\w+$"),
    # conftest `-o json`: per-file successes and failures from Rego rules.
    _r(T.K8S_MANIFEST, 2.0, '"successes"', "conftest JSON", r'"successes"' + _Q + r"\d"),
    _r(
        T.K8S_MANIFEST,
        2.5,
        '"query"',
        "conftest JSON failure",
        r'"query"' + _Q + r'"data\.[\w.]+\.(?:deny|violation)\w*"',
    ),
    _r(
        T.K8S_MANIFEST,
        2.0,
        " failures, ",
        "conftest summary",
        r"^\d+ tests?, \d+ passed, \d+ warnings?, [1-9]\d* failures?, \d+ exceptions?",
    ),
)

DEPENDENCY_REPORT_RULES: tuple[Rule, ...] = (
    # trivy `--format junit|template` (gitlab-codequality) and osv-scanner's GitHub annotations.
    _r(
        T.SECURITY_AUDIT,
        3.5,
        '" name="[',
        "trivy JUnit vulnerability",
        r'<testcase classname="[^"]*" name="\[(?:UNKNOWN|LOW|MEDIUM|HIGH|CRITICAL)\] '
        r"(?:CVE-\d{4}-|GHSA-|RUSTSEC-|GO-\d{4}-|PYSEC-)",
    ),
    _r(T.SECURITY_AUDIT, 1.5, '<testsuites name="trivy"', "trivy JUnit report"),
    _r(
        T.SECURITY_AUDIT,
        3.5,
        '"container_scanning"',
        "container scanning report",
        r'"(?:check_name|category)"' + _Q + '"container_scanning"',
    ),
    *(
        _r(
            T.SECURITY_AUDIT,
            2.5,
            f'"description"{sep}"',
            "code-quality vulnerability issue",
            r'"description"' + _Q + r'"(?:CVE-\d{4}-\d+|GHSA-[\w-]+): ',
        )
        for sep in (": ", ":")
    ),
    _r(
        T.SECURITY_AUDIT,
        3.5,
        "VULNERABILITY ID",
        "osv-scanner table",
        r"PACKAGE\s*\|\s*VULNERABILITY ID\s*\|",
    ),
    _r(T.SECURITY_AUDIT, 1.5, "https://osv.dev/", "osv.dev advisory link"),
    # semgrep SARIF: its fingerprint scheme; taint traces as SARIF code flows.
    _r(T.SECURITY_CODE_SCAN, 3.5, '"matchBasedId/v1"', "semgrep SARIF finding"),
    # cargo-vet: `cargo vet` lists unvetted crates as `name:version missing ["criteria"]`.
    _r(
        T.RUST_DEPS,
        4.0,
        ' missing ["safe-to-',
        "cargo vet unvetted dependency",
        r'^\s*[\w.-]+:[\w.+-]+ missing \["safe-to-(?:deploy|run)"',
    ),
    _r(T.RUST_DEPS, 4.0, "Vetting Failed!", "cargo vet failed"),
    # composer audit: JSON (`--format=json`), its table/plain summary and advisory ids.
    _r(
        T.SECURITY_AUDIT,
        4.0,
        "advisoryId",
        "composer audit JSON",
        r'"advisoryId"' + _Q + r'"PKSA-',
    ),
    _r(
        T.SECURITY_AUDIT,
        4.0,
        "vulnerability advisor",
        "composer audit",
        r"Found [1-9]\d* security vulnerability advisor(?:y|ies) affecting",
    ),
    _r(T.SECURITY_AUDIT, 3.0, "PKSA-", "composer advisory", r"Advisory ID\W+PKSA-"),
    # cargo-deny `--format sarif`: rule ids are `<check initial>:<code>`.
    _r(
        T.SECURITY_AUDIT,
        3.0,
        "cargo-deny/advisory",
        "cargo deny SARIF advisory",
        r'"cargo-deny/advisory-id"',
    ),
    _r(
        T.SECURITY_AUDIT,
        2.5,
        '"ruleId"',
        "cargo deny SARIF advisory",
        rf'"ruleId"{_Q}"a:(?:{DENY_ADVISORY_CODES}|notice)"',
    ),
    _r(
        T.RUST_DEPS,
        3.5,
        '"ruleId"',
        "cargo deny SARIF policy",
        rf'"ruleId"{_Q}"[bls]:(?:{DENY_CODES})"',
    ),
    # cargo-vet: its store and policy errors (miette diagnostics).
    _r(
        T.RUST_DEPS,
        4.0,
        "some issues with your",
        "cargo vet policy",
        r"There are some issues with your "
        r"(?:policy\.audit-as-crates-io|third-party policy) entries",
    ),
    _r(
        T.RUST_DEPS,
        3.5,
        "audit-as-crates-io",
        "cargo vet audit-as-crates-io",
        r"audit-as-crates-io (?:packages don't match published|policies don't match first-party)",
    ),
    _r(
        T.RUST_DEPS,
        3.5,
        "crates.io-fetched",
        "cargo vet audit-as-crates-io",
        r"non-crates\.io-fetched packages match published",
    ),
    _r(
        T.RUST_DEPS,
        4.0,
        "cargo-vet store",
        "cargo vet",
        r"cargo-vet store \(supply-chain\) has consistency errors",
    ),
    _r(
        T.RUST_DEPS,
        3.5,
        "imports.lock is out",
        "cargo vet",
        r"imports\.lock is out-of-date with respect to configuration",
    ),
    _r(
        T.RUST_DEPS,
        3.0,
        "an associated version",
        "cargo vet policy",
        r"policies that are missing an associated version",
    ),
)

SCANNER_RULES: tuple[Rule, ...] = (
    *SECRET_SCANNER_RULES,
    *IAC_SCANNER_RULES,
    *K8S_AUDITOR_RULES,
    *DEPENDENCY_REPORT_RULES,
)
