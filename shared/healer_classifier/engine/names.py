"""Weak hints from names: step commands, job and workflow names, changed paths."""

from __future__ import annotations

from healer.vocabulary import FailureType
from healer.vocabulary import FailureType as T
from healer_classifier.engine.rule import ContextRule
from healer_classifier.engine.rule import context_rule as _c

NAME_RULES: tuple[ContextRule, ...] = (
    _c(T.RUST_CLIPPY, r"clippy|cargo[ +\w-]* fmt\b|\brustfmt\b"),
    _c(T.RUST_TEST, r"cargo[ +\w-]* (?:test|nextest)|\bnextest\b"),
    _c(T.RUST_BUILD, r"cargo[ +\w-]* (?:build|check)\b|\brustc\b"),
    _c(T.RUST_DEPS, r"cargo (?:update|fetch|generate-lockfile)"),
    _c(
        T.FRONTEND_DEPS,
        r"\b(?:npm (?:ci|install|i)|pnpm (?:i|install)|yarn install|bun install|rush install)\b",
    ),
    _c(T.FRONTEND_TYPESCRIPT, r"\btsc\b|type[- ]?check|vue-tsc|svelte-check"),
    _c(
        T.FRONTEND_LINT,
        r"eslint|prettier|(?:npm|pnpm|yarn|bun) (?:run )?(?:lint|format)|biome|stylelint",
    ),
    _c(
        T.FRONTEND_TEST,
        r"jest|vitest|mocha|playwright|cypress|\bcy:(?:run|ci)\b|start-server-and-test|karma|"
        r"\bnode --test\b|"
        r"(?:npm|pnpm|yarn|bun) (?:run )?(?:test|e2e)",
    ),
    _c(
        T.FRONTEND_BUILD,
        r"(?:npm|pnpm|yarn|bun) (?:run )?build|webpack|vite build|next build|\bng build|rollup",
    ),
    _c(T.PYTHON_LINT, r"\bruff\b|flake8|pylint|\bblack\b|isort|pycodestyle"),
    _c(T.PYTHON_TYPE, r"\bmypy\b|pyright"),
    _c(T.PYTHON_TEST, r"pytest|unittest|\btox\b|\bnox\b|manage\.py test"),
    _c(T.PYTHON_DEPS, r"pip install|poetry (?:install|lock)|uv (?:sync|lock|pip)|pipenv"),
    _c(
        T.DOCKER_BUILD,
        r"docker (?:build|buildx)|build-push-action|buildah|podman build|kaniko|docker image",
    ),
    _c(T.HELM_TEMPLATE, r"\bhelm\b|chart-testing|(?:^|[/\s])ct(?:\s|$)"),
    _c(
        T.K8S_MANIFEST,
        r"kubeconform|kubeval|\bkubectl\b|kustomize|kube-linter|kube-score|k8s-deploy|k8s-bake|kubernetes-validate",
    ),
    _c(T.ARGOCD_SYNC, r"argocd|argo ?cd"),
    _c(T.YAML_SYNTAX, r"yamllint|yaml-?lint"),
    _c(
        T.SECURITY_AUDIT,
        r"\baudit\b|cargo deny|trivy|grype|anchore|osv-scanner|govulncheck|snyk|dependency-review",
    ),
    _c(
        T.SECURITY_SECRET,
        r"gitleaks|trufflehog|detect-secrets|secret[- ]scan|ggshield|--scanners[ =]secret\b",
    ),
    _c(
        T.SECURITY_CODE_SCAN,
        r"codeql|semgrep|bandit|gosec|code[- ]scanning|checkov|tfsec|trivy conf(?:ig)?\b",
    ),
    _c(T.SECURITY_DEPENDABOT, r"^dependabot\b|\bdependabot[/-]|dependabot updates?"),
    _c(T.GITHUB_WORKFLOW, r"actionlint|github-(?:workflows|actions)\b"),
)

PATH_RULES: tuple[ContextRule, ...] = (
    _c(T.RUST_BUILD, r"\.rs$"),
    _c(T.RUST_DEPS, r"(?:^|/)Cargo\.(?:toml|lock)$"),
    _c(T.FRONTEND_DEPS, r"(?:^|/)(?:package\.json|package-lock\.json|pnpm-lock\.yaml|yarn\.lock)$"),
    _c(T.FRONTEND_TYPESCRIPT, r"\.tsx?$"),
    _c(T.PYTHON_TEST, r"(?:^|/)tests?/.*\.py$|test_\w+\.py$"),
    _c(
        T.PYTHON_DEPS, r"(?:^|/)(?:requirements[\w.-]*\.txt|poetry\.lock|uv\.lock|pyproject\.toml)$"
    ),
    _c(T.DOCKER_BUILD, r"(?:^|/)(?:Dockerfile|Containerfile)[\w.-]*$"),
    _c(
        T.HELM_TEMPLATE,
        r"(?:^|/)(?:Chart\.yaml|values[\w.-]*\.ya?ml|templates/[^/]+\.(?:ya?ml|tpl))$",
    ),
    _c(T.GITHUB_WORKFLOW, r"^\.github/(?:workflows|actions)/"),
)


def command_type(text: str) -> tuple[FailureType, str] | None:
    """The type of the last command in ``text`` a name rule knows, with the words that said so.

    A script runs its commands in order and stops at the first failure, so when a step runs
    ``npm ci`` then ``npm test``, the later command is the likelier culprit.
    """
    best: tuple[int, FailureType, str] | None = None
    for rule in NAME_RULES:
        for m in rule.pattern.finditer(text):
            if best is None or m.end() > best[0]:
                best = (m.end(), rule.type, m.group(0))
    return (best[1], best[2]) if best else None
