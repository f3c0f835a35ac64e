# ruff: noqa: E501  (tool output samples are kept on one line each)
"""Shapes real CI logs come in: other ecosystems, log formats, wrappers, retries, truncation.

Every line here is hand-written in the shape the tool prints; none is copied from a real log.
"""

from __future__ import annotations

import pytest

from healer.models import Verdict
from healer.vocabulary import FailureType
from healer_classifier.engine import classify_log


def gha(*lines: str, eol: str = "\n") -> str:
    return "".join(
        f"2024-05-02T10:00:{i % 60:02d}.1234567Z {line}{eol}" for i, line in enumerate(lines)
    )


def step(command: str, *output: str, exit_code: int = 1) -> list[str]:
    """One ``run:`` step as GitHub renders it, failing with ``exit_code`` (0: it passed)."""
    lines = [
        f"##[group]Run {command}",
        command,
        "shell: /usr/bin/bash -e {0}",
        "##[endgroup]",
        *output,
    ]
    if exit_code:
        lines.append(f"##[error]Process completed with exit code {exit_code}.")
    return lines


def action(uses: str, *output: str, error: str = "") -> list[str]:
    """A ``uses:`` step (composite or JavaScript action) that ends with an error annotation."""
    lines = [f"##[group]Run {uses}", "with:", "  token: ***", "##[endgroup]", *output]
    if error:
        lines.append(f"##[error]{error}")
    return lines


def verdict_of(text: str) -> Verdict:
    return classify_log([text])


# --- other ecosystems are `general`, not a wrong specific type ---------------------------

OTHER_ECOSYSTEMS = {
    "maven_surefire": gha(
        *step(
            "mvn --batch-mode verify",
            "[INFO] Results:",
            "[ERROR] Failures: ",
            "[ERROR]   OrderServiceTest.totals:41 expected: <3> but was: <2>",
            "[ERROR] Tests run: 12, Failures: 1, Errors: 0, Skipped: 0",
            "[INFO] BUILD FAILURE",
            "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-surefire-plugin:3.2.5:test (default-test) on project orders: There are test failures.",
            "[ERROR] -> [Help 1]",
        )
    ),
    "maven_compile": gha(
        *step(
            "mvn -B package",
            "[ERROR] COMPILATION ERROR : ",
            "[ERROR] /home/runner/work/shop/shop/src/main/java/shop/Cart.java:[14,9] cannot find symbol",
            "[ERROR]   symbol:   class Item",
            "[INFO] BUILD FAILURE",
        )
    ),
    "gradle": gha(
        *step(
            "./gradlew build",
            "> Task :app:test FAILED",
            "CartTest > totals() FAILED",
            "    org.opentest4j.AssertionFailedError at CartTest.kt:22",
            "FAILURE: Build failed with an exception.",
            "* What went wrong:",
            "Execution failed for task ':app:test'.",
            "BUILD FAILED in 41s",
        )
    ),
    "go_test": gha(
        *step(
            "go test ./...",
            "=== RUN   TestParseHeader",
            '    header_test.go:18: got "a", want "b"',
            "--- FAIL: TestParseHeader (0.00s)",
            "FAIL",
            "FAIL\texample.com/shop/header\t0.012s",
            "ok  \texample.com/shop/cart\t0.020s",
        )
    ),
    "go_build": "# example.com/shop/cart\ncart/cart.go:12:2: undefined: Item\ncart/cart.go:20:9: cannot use x (variable of type int) as string value in return statement\n",
    "cpp_make": gha(
        *step(
            "make -j2",
            "g++ -O2 -c src/parser.cpp -o build/parser.o",
            "src/parser.cpp:41:5: error: 'tokens' was not declared in this scope",
            "   41 |     tokens.push_back(t);",
            "make: *** [Makefile:23: build/parser.o] Error 1",
            exit_code=2,
        )
    ),
    "cmake": 'CMake Error at CMakeLists.txt:12 (find_package):\n  Could not find a package configuration file provided by "Boost"\n-- Configuring incomplete, errors occurred!\n',
    "dotnet": gha(
        *step(
            "dotnet build --configuration Release",
            "/home/runner/work/api/api/src/Api/Program.cs(12,5): error CS0103: The name 'builder' does not exist in the current context [/home/runner/work/api/api/src/Api/Api.csproj]",
            "Build FAILED.",
        )
    ),
    "rspec": "Failures:\n\n  1) Cart totals sums items\n     Failure/Error: expect(cart.total).to eq(3)\n\n12 examples, 1 failure\n\nFailed examples:\n\nrspec ./spec/cart_spec.rb:5 # Cart totals sums items\n",
    "shell_missing_tool": gha(
        *step(
            "./scripts/deploy.sh",
            "./scripts/deploy.sh: line 4: docker-compose: command not found",
            exit_code=127,
        )
    ),
}


@pytest.mark.parametrize("name", sorted(OTHER_ECOSYSTEMS))
def test_failures_outside_the_taxonomy_are_general(name: str) -> None:
    verdict = verdict_of(OTHER_ECOSYSTEMS[name])
    assert verdict.failure_type == "general", verdict.signals


def test_maven_error_lines_are_not_helm_lint() -> None:
    log = gha(
        *step(
            "mvn -B test",
            "[ERROR] Errors: ",
            "[ERROR]   ApiTest.loads » IllegalState Failed to load ApplicationContext",
            "[ERROR] Tests run: 3, Failures: 0, Errors: 1, Skipped: 0",
            "[ERROR] Please refer to /home/runner/work/a/a/target/surefire-reports for the individual test results.",
        )
    )
    assert verdict_of(log).failure_type == "general"
    helm = "==> Linting charts/web\n[ERROR] templates/deployment.yaml: unable to parse YAML: error converting YAML to JSON\n\nError: 1 chart(s) linted, 1 chart(s) failed\n"
    assert verdict_of(helm).failure_type == "helm_template"


# --- the failing step's own command is evidence when the output says little -------------

COMMAND_ONLY = [
    ("npm test", "frontend_test"),
    ("npm run test:unit", "frontend_test"),
    ("yarn test --ci", "frontend_test"),
    ("pnpm test", "frontend_test"),
    ("npx vitest run", "frontend_test"),
    ("npx jest --coverage", "frontend_test"),
    ("npm run lint", "frontend_lint"),
    ("npx eslint .", "frontend_lint"),
    ("npm run build", "frontend_build"),
    ("npx tsc --noEmit", "frontend_typescript"),
    ("cargo test --workspace", "rust_test"),
    ("cargo build --release", "rust_build"),
    ("pytest -q", "python_test"),
    ("python -m pytest tests", "python_test"),
    ("mypy src", "python_type"),
    ("ruff check .", "python_lint"),
]


@pytest.mark.parametrize(("command", "label"), COMMAND_ONLY)
def test_failing_step_command_names_the_type_when_output_is_silent(
    command: str, label: str
) -> None:
    log = gha(
        *step(
            command,
            "npm error Lifecycle script failed." if command.startswith("n") else "exit status 1",
        )
    )
    verdict = verdict_of(log)
    assert verdict.failure_type == label, verdict.signals
    assert verdict.confidence <= 0.5


def test_command_reported_failed_inside_a_wrapper_script() -> None:
    log = gha(
        *step(
            "node scripts/release.mjs validate",
            "Step validate failed: Command failed: npm run test:run",
            "stderr | src/a.test.ts > parser > keeps order",
            "warning: using fallback directory",
        )
    )
    assert verdict_of(log).failure_type == "frontend_test"


def test_npm_script_failure_lines_name_the_script() -> None:
    npm7 = "npm error Lifecycle script `lint` failed with error:\nnpm error code 1\nnpm error path /w/app\nnpm error workspace web@1.0.0\nnpm error command failed\nnpm error command sh -c eslint src\n"
    assert verdict_of(npm7).failure_type == "frontend_lint"
    npm6 = "npm ERR! code ELIFECYCLE\nnpm ERR! errno 1\nnpm ERR! web@1.0.0 test: `jest --ci`\nnpm ERR! Exit status 1\nnpm ERR! Failed at the web@1.0.0 test script.\n"
    assert verdict_of(npm6).failure_type == "frontend_test"


def test_a_multi_command_script_leans_on_its_last_command() -> None:
    log = gha(
        "##[group]Run npm ci",
        "npm ci",
        "npm run build",
        "shell: /usr/bin/bash -e {0}",
        "##[endgroup]",
        "added 120 packages in 3s",
        "something went wrong",
        "##[error]Process completed with exit code 1.",
    )
    assert verdict_of(log).failure_type == "frontend_build"


# --- third-party and composite actions ---------------------------------------------------

ACTIONS = [
    (
        "actions/setup-node@v4",
        ["Attempting to download 20.x..."],
        "getaddrinfo EAI_AGAIN nodejs.org",
        "infra_network",
    ),
    (
        "docker/build-push-action@v5",
        ["#5 [2/4] RUN make"],
        'buildx failed with: ERROR: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2',
        "docker_build",
    ),
    (
        "github/codeql-action/analyze@v3",
        ["Finalizing database at /home/runner/work/_temp/codeql_databases/javascript."],
        'Encountered a fatal error while running "/opt/hostedtoolcache/CodeQL/bin/codeql database finalize". Exit code was 32.',
        "security_code_scan",
    ),
    (
        "helm/chart-testing-action@v2.6.1",
        [],
        "The process '/usr/bin/ct' failed with exit code 1",
        "helm_template",
    ),
    (
        "azure/k8s-deploy@v5",
        ["Deploying manifests"],
        "Error: error: the server could not find the requested resource",
        "k8s_manifest",
    ),
    ("ibiqlik/action-yamllint@v3", [], "Process completed with exit code 1.", "yaml_syntax"),
    (
        "gitleaks/gitleaks-action@v2",
        [],
        "The process '/tmp/gitleaks' failed with exit code 1",
        "security_secret",
    ),
    (
        "rustsec/audit-check@v1.4.1",
        [],
        "Critical vulnerabilities were found, marking check as failed",
        "security_audit",
    ),
    (
        "dependabot/fetch-metadata@v2",
        [],
        "PR is not from Dependabot, nothing to do.",
        "security_dependabot",
    ),
    (
        "github/dependabot-action@main",
        ["updater | 2024/05/02 10:00:01 INFO <job_1> Starting job processing"],
        "Dependabot encountered an error performing the update",
        "security_dependabot",
    ),
]


@pytest.mark.parametrize(
    ("uses", "output", "error", "label"), ACTIONS, ids=[a[0].split("@")[0] for a in ACTIONS]
)
def test_failing_action_step(uses: str, output: list[str], error: str, label: str) -> None:
    log = gha(
        "##[group]Run actions/checkout@v4", "##[endgroup]", *action(uses, *output, error=error)
    )
    verdict = verdict_of(log)
    assert verdict.failure_type == label, verdict.signals
    assert verdict.failing_step == f"Run {uses}"


# --- log formats -----------------------------------------------------------------------


def test_gh_run_view_log_failed_format() -> None:
    lines = [
        "##[group]Run cargo test --locked",
        "cargo test --locked",
        "##[endgroup]",
        "---- parser::nested stdout ----",
        "thread 'parser::nested' panicked at src/parser.rs:10:5:",
        "test result: FAILED. 3 passed; 1 failed; 0 ignored",
        "##[error]Process completed with exit code 101.",
    ]
    text = "".join(
        f"test\tRun cargo test --locked\t2024-05-02T10:00:0{i}.5Z {line}\n"
        for i, line in enumerate(lines)
    )
    verdict = verdict_of(text)
    assert verdict.failure_type == "rust_test"
    assert verdict.failing_step == "Run cargo test --locked"


def test_crlf_line_endings() -> None:
    log = gha(
        *step(
            "pytest",
            "FAILED tests/test_a.py::test_b - assert 1 == 2",
            "==== 1 failed, 4 passed in 0.20s ====",
        ),
        eol="\r\n",
    )
    assert verdict_of(log).failure_type == "python_test"
    bare = "src/a.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.\r\nFound 1 error.\r\n"
    assert verdict_of(bare).failure_type == "frontend_typescript"


def test_truncated_log_with_only_the_tail() -> None:
    log = gha(
        "    def test_add():",
        ">       assert add(1, 2) == 4",
        "E       assert 3 == 4",
        "",
        "tests/test_math.py:5: AssertionError",
        "##[error]Process completed with exit code 1.",
        "Post job cleanup.",
    )
    verdict = verdict_of(log)
    assert verdict.failure_type == "python_test"
    assert verdict.failing_step == ""
    assert "starts inside" in verdict.signals[0]
    nox = gha(
        "==== 2 failed, 9 passed in 3.10s ====",
        "nox > Command pytest tests --maxfail=5 failed with exit code 1",
        "nox > Session tests-3.12 failed.",
        "##[error]Process completed with exit code 1.",
    )
    assert verdict_of(nox).failure_type == "python_test"


def test_error_only_in_an_annotation_line() -> None:
    log = gha(
        *step(
            "make check",
            "##[error]src/app.ts(4,1): error TS2304: Cannot find name 'foo'.",
            exit_code=2,
        ),
    )
    assert verdict_of(log).failure_type == "frontend_typescript"
    only = gha(
        "##[group]Run ./ci.sh",
        "##[endgroup]",
        "##[error]FAILED tests/test_api.py::test_get - KeyError: 'id'",
    )
    assert verdict_of(only).failure_type == "python_test"


def test_workspace_runner_prefixes() -> None:
    turbo = gha(
        *step(
            "npx turbo run lint",
            "@acme/web:lint: /home/runner/work/m/m/apps/web/src/a.ts",
            "@acme/web:lint:   3:7  error  'x' is assigned a value but never used  @typescript-eslint/no-unused-vars",
            "@acme/web:lint: ✖ 1 problem (1 error, 0 warnings)",
            "@acme/web#lint: command (/home/runner/work/m/m/apps/web) /usr/local/bin/npm run lint exited (1)",
        )
    )
    assert verdict_of(turbo).failure_type == "frontend_lint"
    pnpm_recursive = gha(
        *step(
            "pnpm -r test",
            "packages/core test: FAIL src/parse.test.ts > parse > keeps order",
            "packages/core test:  Test Files  1 failed | 2 passed (3)",
            "packages/core test: Failed",
        )
    )
    assert verdict_of(pnpm_recursive).failure_type == "frontend_test"
    lerna = "lerna ERR! npm run test exited 1 in '@acme/api'\n"
    assert verdict_of(lerna).failure_type == "frontend_test"


def test_pytest_assertion_block_without_summary() -> None:
    text = "_______________________________ test_total ________________________________\n\n    def test_total():\n>       assert total([1, 2]) == 4\nE       AssertionError: assert 3 == 4\nE        +  where 3 = total([1, 2])\n\ntests/test_cart.py:9: AssertionError\n"
    assert verdict_of(text).failure_type == "python_test"


def test_rustfmt_check_diff_is_the_rust_lint_type() -> None:
    """No dedicated formatter type exists; rust_clippy is the Rust lint specialist's type."""
    log = gha(
        *step(
            "cargo fmt --all -- --check",
            "Diff in /home/runner/work/app/app/src/main.rs at line 3:",
            " fn main() {",
            "-    let x=1;",
            "+    let x = 1;",
        )
    )
    assert verdict_of(log).failure_type == "rust_clippy"
    bare = "Diff in src/lib.rs:12:\n-fn f( ) {}\n+fn f() {}\n"
    assert verdict_of(bare).failure_type == "rust_clippy"


def test_formatter_checks() -> None:
    prettier = gha(
        *step(
            "npx prettier --check .",
            "Checking formatting...",
            "[warn] src/app.tsx",
            "[warn] Code style issues found in the above file. Run Prettier with --write to fix.",
        )
    )
    assert verdict_of(prettier).failure_type == "frontend_lint"
    black = gha(
        *step(
            "black --check .",
            "would reformat /home/runner/work/a/a/src/a.py",
            "",
            "Oh no! 💥 💔 💥",
            "1 file would be reformatted, 9 files would be left unchanged.",
        )
    )
    assert verdict_of(black).failure_type == "python_lint"


PRE_COMMIT = [
    ("ruff", "python_lint"),
    ("black", "python_lint"),
    ("mypy", "python_type"),
    ("eslint", "frontend_lint"),
    ("prettier", "frontend_lint"),
    ("yamllint", "yaml_syntax"),
    ("check-yaml", "yaml_syntax"),
    ("gitleaks", "security_secret"),
    ("actionlint", "github_workflow"),
    ("fmt", "rust_clippy"),
    ("clippy", "rust_clippy"),
]


@pytest.mark.parametrize(("hook", "label"), PRE_COMMIT)
def test_pre_commit_hook_failure_maps_to_the_hook_tool(hook: str, label: str) -> None:
    log = gha(
        *step(
            "pre-commit run --all-files --show-diff-on-failure",
            "trim trailing whitespace.................................................Passed",
            f"{hook.replace('-', ' ')}.......................................................Failed",
            f"- hook id: {hook}",
            "- exit code: 1",
            "",
            "some/file: problem reported by the hook",
        )
    )
    assert verdict_of(log).failure_type == label


def test_travis_command_exit_line() -> None:
    log = 'travis_fold:start:install\r\n$ npm ci\r\nadded 310 packages in 6s\r\ntravis_fold:end:install\r\n$ npm test\r\n> web@1.0.0 test\r\n> mocha\r\n\r\n  cart\r\n    1) adds items\r\n\r\n  0 passing (20ms)\r\n  1 failing\r\n\r\nThe command "npm test" exited with 1.\r\n'
    verdict = verdict_of(log)
    assert verdict.failure_type == "frontend_test"
    only_exit = 'Done. Your build exited with 1.\nThe command "npm test" exited with 1.\n'
    assert verdict_of(only_exit).failure_type == "frontend_test"


def test_circleci_like_bare_output() -> None:
    text = "#!/bin/bash -eo pipefail\npython -m pytest -q\n.....F\n=================================== FAILURES ===================================\nFAILED tests/test_io.py::test_read - OSError: boom\n1 failed, 5 passed in 0.31s\n\nExited with code exit status 1\n"
    assert verdict_of(text).failure_type == "python_test"


# --- transient network noise versus the real failure ---------------------------------------


def test_retried_download_does_not_beat_the_real_failure() -> None:
    log = gha(
        *step(
            "cargo test",
            "warning: spurious network error (2 tries remaining): [28] Timeout was reached (Connection timed out after 30001 milliseconds)",
            "  Downloaded serde v1.0.200",
            "   Compiling app v0.1.0 (/home/runner/work/app/app)",
            "---- cart::totals stdout ----",
            "thread 'cart::totals' panicked at src/cart.rs:40:9:",
            "test result: FAILED. 10 passed; 1 failed; 0 ignored",
            exit_code=101,
        )
    )
    assert verdict_of(log).failure_type == "rust_test"
    pip = gha(
        *step(
            "pip install -r requirements.txt && pytest",
            "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'ReadTimeoutError(\"HTTPSConnectionPool(host='pypi.org', port=443): Read timed out. (read timeout=15)\")': /simple/requests/",
            "Successfully installed requests-2.32.0",
            "FAILED tests/test_api.py::test_get - assert 500 == 200",
            "========================= 1 failed, 3 passed in 1.02s =========================",
        )
    )
    assert verdict_of(pip).failure_type == "python_test"


def test_network_failure_that_never_recovered_is_a_rerun() -> None:
    log = gha(
        *step(
            "npm ci",
            "npm warn retrying fetch of https://registry.npmjs.org/left-pad after ECONNRESET",
            "npm error code ECONNRESET",
            "npm error network aborted",
            "npm error network This is a problem related to network connectivity.",
        )
    )
    verdict = verdict_of(log)
    assert verdict.failure_type == "infra_network"
    assert verdict.action == "rerun"


def test_resolver_not_found_after_network_errors_is_the_network() -> None:
    pip = gha(
        *step(
            "pip install -r requirements.txt",
            "WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<HTTPSConnection object>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/flask/",
            "WARNING: Retrying (Retry(total=1, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<HTTPSConnection object>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/flask/",
            "ERROR: Could not find a version that satisfies the requirement flask==3.0.0 (from versions: none)",
            "ERROR: No matching distribution found for flask==3.0.0",
        )
    )
    verdict = verdict_of(pip)
    assert verdict.failure_type == "infra_network"
    assert verdict.action == "rerun"
    cargo = "error: failed to get `serde` as a dependency of package `app v0.1.0 (/w/app)`\n\nCaused by:\n  failed to load source for dependency `serde`\n\nCaused by:\n  download of config.json failed\n\nCaused by:\n  [6] Couldn't resolve host name (Could not resolve host: index.crates.io)\n"
    assert verdict_of(cargo).failure_type == "infra_network"
    real = "ERROR: Could not find a version that satisfies the requirement flask==99.0 (from versions: 2.3.3, 3.0.0)\nERROR: No matching distribution found for flask==99.0\n"
    assert verdict_of(real).failure_type == "python_deps"


def test_a_container_build_owns_the_compile_error_inside_it() -> None:
    log = gha(
        *step(
            "docker build -t app .",
            "#9 [build 4/5] RUN make",
            "#9 0.41 src/io.c:12:3: error: implicit declaration of function 'readx'",
            "#9 0.42 make: *** [Makefile:8: io.o] Error 1",
            '#9 ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 2',
            'ERROR: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2',
        )
    )
    assert verdict_of(log).failure_type == "docker_build"


def test_helm_errors_wrapped_by_other_tools() -> None:
    text = 'Traceback (most recent call last):\n  File "ci/deploy.py", line 9, in <module>\nInstallError: install failed: execution error at (web/templates/ingress.yaml:7:15): ingress.host is required\n'
    assert verdict_of(text).failure_type == "helm_template"
    rendered = "Error: INSTALLATION FAILED: YAML parse error on web/templates/cm.yaml: error converting YAML to JSON: yaml: line 4: mapping values are not allowed in this context\n"
    assert verdict_of(rendered).failure_type == "helm_template"


def test_failure_markers_from_the_web_ui_gitlab_and_circleci() -> None:
    ui = "Run npm run lint\n/home/runner/work/a/a/src/x.ts\n  3:7  error  'y' is defined but never used  no-unused-vars\n\n✖ 1 problem (1 error, 0 warnings)\n\nError: Process completed with exit code 1.\n"
    assert verdict_of(ui).failure_type == "frontend_lint"
    gitlab = "$ cargo test\n---- tests::adds stdout ----\nthread 'tests::adds' panicked at src/lib.rs:9:9:\ntest result: FAILED. 1 passed; 1 failed\nERROR: Job failed: exit code 1\n"
    assert verdict_of(gitlab).failure_type == "rust_test"


def test_trivy_secret_scan_is_a_secret_finding_not_an_audit() -> None:
    log = gha(
        *step(
            "trivy fs --scanners secret --exit-code 1 .",
            "deploy/settings.env (secrets)",
            "Total: 1 (HIGH: 0, CRITICAL: 1)",
            "CRITICAL: AWS (aws-access-key-id)",
        )
    )
    assert verdict_of(log).failure_type == "security_secret"
    vuln = gha(
        *step(
            "trivy fs --exit-code 1 .",
            "package-lock.json (npm)",
            "Total: 2 (HIGH: 1, CRITICAL: 1)",
            "│ lodash  │ CVE-2021-23337 │ HIGH     │ fixed  │ 4.17.20           │ 4.17.21       │",
        )
    )
    assert verdict_of(vuln).failure_type == "security_audit"


def test_rustc_lint_denied_in_a_clippy_step_is_a_lint_failure() -> None:
    log = gha(
        *step(
            "cargo clippy --all-targets -- -D warnings",
            "error: unused variable: `total`",
            " --> src/cart.rs:8:9",
            "  = note: `-D unused-variables` implied by `-D warnings`",
            "error: could not compile `cart` (lib) due to 1 previous error",
            exit_code=101,
        )
    )
    assert verdict_of(log).failure_type == "rust_clippy"


def test_registry_login_refusal_is_a_permission_problem() -> None:
    log = gha(
        "##[group]Run docker/login-action@v3",
        "##[endgroup]",
        '##[error]Error response from daemon: Get "https://registry.example.com/v2/": unauthorized: incorrect username or password',
    )
    assert verdict_of(log).failure_type == "git_permission"


def test_trivy_config_findings_are_code_scanning() -> None:
    log = gha(
        *step(
            "trivy config --exit-code 1 .",
            "Tests: 12 (SUCCESSES: 10, FAILURES: 2)",
            "AVD-KSV-0001 (MEDIUM): Container 'web' should set 'securityContext.allowPrivilegeEscalation' to false",
        )
    )
    assert verdict_of(log).failure_type == "security_code_scan"


def test_a_utf16_log_saved_by_windows_is_read_as_text() -> None:
    log = (
        "##[group]Run npx tsc --noEmit\n"
        "src/app.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.\n"
        "##[error]Process completed with exit code 2.\n"
    )
    for encoded in (log.encode("utf-16"), log.encode("utf-16-le"), log.encode("utf-16-be")):
        chunks = [encoded[i : i + 7] for i in range(0, len(encoded), 7)]  # odd-sized chunks
        verdict = classify_log(chunks)
        assert verdict.failure_type == FailureType.FRONTEND_TYPESCRIPT
        assert "error TS2322" in verdict.excerpt


def test_the_gitleaks_action_verdict_is_a_secret_finding() -> None:
    log = '##[group]Run gitleaks/gitleaks-action@v2\nGitleaks encountered leaks\n{"rule": "AWS"}\n'
    assert classify_log([log + "##[error]Process completed with exit code 1.\n"]).failure_type == (
        FailureType.SECURITY_SECRET
    )


def test_a_release_action_refused_by_the_api_is_a_permission_failure() -> None:
    log = (
        "##[group]Run softprops/action-gh-release@v2\n"
        "⚠️ GitHub release failed with status: 403\n"
        "##[error]Too many retries.\n"
    )
    assert classify_log([log]).failure_type == FailureType.GIT_PERMISSION


@pytest.mark.parametrize(
    "line",
    [
        "Error: No code found during the build. Please see:",
        "Error: Encountered a fatal error while running CodeQL database finalize",
    ],
)
def test_codeql_failures_are_code_scanning(line: str) -> None:
    assert classify_log([line + "\n"]).failure_type == FailureType.SECURITY_CODE_SCAN


def test_a_log_copied_from_the_web_ui_still_has_steps() -> None:
    log = (
        "> Run actions/checkout@v4\n"
        "Syncing repository: acme/widgets\n"
        "> Run npm ci\n"
        "  npm ci\n"
        "npm ERR! Invalid Version: file:packages/preset\n"
        "Error: Process completed with exit code 1.\n"
    )
    verdict = classify_log([log])
    assert verdict.failing_step == "Run npm ci"
    assert verdict.failure_type == FailureType.FRONTEND_DEPS


def test_azure_pipelines_steps_and_failure_marker() -> None:
    log = (
        "##[section]Starting: Checkout\n"
        "##[section]Finishing: Checkout\n"
        "##[section]Starting: Install\n"
        "ERROR: Could not find a version that satisfies the requirement flask==9.9\n"
        "ERROR: No matching distribution found for flask==9.9\n"
        "##[error]Bash exited with code '1'.\n"
    )
    verdict = classify_log([log])
    assert verdict.failing_step == "Install"
    assert verdict.failure_type == FailureType.PYTHON_DEPS


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("error: no matching version `^1.0` found for package `serde`", FailureType.RUST_DEPS),
        ("##[warning]Found verified Lob result 🐷🔑", FailureType.SECURITY_SECRET),
        (
            "Warning: Failed to download action 'https://api.github.com/repos/actions/checkout/"
            "tarball/ee06'. Error: Response status code does not indicate success: 503 "
            "(Service Unavailable).",
            FailureType.INFRA_NETWORK,
        ),
        (
            "Error: `/root/.local/bin/semgrep --json --config /tmp/rules.yml` failed with exit code 2",
            FailureType.SECURITY_CODE_SCAN,
        ),
        (
            "Failed to compile.\n./app/page.tsx:12:7\nType error: Property 'x' does not exist on type 'Y'.",
            FailureType.FRONTEND_TYPESCRIPT,
        ),
    ],
)
def test_more_tool_verdicts_in_bare_fragments(line: str, expected: FailureType) -> None:
    assert classify_log([line + "\n"]).failure_type == expected


def test_svelte_check_errors_are_type_errors() -> None:
    log = (
        "Platform\tType check platform\t2026-04-03T13:35:43.1Z \x1b[31msvelte-check found 4 errors "
        "and 2 warnings in 6 files\x1b[39m\n"
        "Platform\tType check platform\t2026-04-03T13:35:43.2Z ##[error]Process completed with "
        "exit code 1.\n"
    )
    assert classify_log([log]).failure_type == FailureType.FRONTEND_TYPESCRIPT


def test_a_container_build_that_failed_inside_a_frontend_build_names_the_frontend_cause() -> None:
    log = (
        "##[group]Run docker/build-push-action@v6\n"
        "#12 [build 5/6] RUN npx vite build\n"
        "#12 1.2 error during build:\n"
        '#12 1.2 [vite]: Rollup failed to resolve import "@/lib/api" from "src/main.ts".\n'
        "#12 1.2 Error: Module not found: Can't resolve '@/lib/api'\n"
        '#12 ERROR: process "/bin/sh -c npx vite build" did not complete successfully: exit code: 1\n'
        "------\n"
        " > [build 5/6] RUN npx vite build:\n"
        "------\n"
        "Dockerfile:12\n"
        'ERROR: failed to solve: process "/bin/sh -c npx vite build" did not complete '
        "successfully: exit code: 1\n"
        "##[error]buildx failed with: ERROR: failed to solve: process did not complete\n"
    )
    verdict = classify_log([log])
    assert verdict.failure_type == FailureType.FRONTEND_BUILD
    assert any("container build failed inside" in s for s in verdict.signals)


def test_a_container_build_that_failed_in_its_own_instructions_stays_a_docker_failure() -> None:
    log = (
        "##[group]Run docker/build-push-action@v6\n"
        "#7 [3/5] COPY dist/ /app/\n"
        '#7 ERROR: failed to calculate checksum of ref: "/dist": not found\n'
        "Dockerfile:7\n"
        'ERROR: failed to solve: failed to compute cache key: "/dist": not found\n'
        "##[error]buildx failed with: ERROR: failed to solve\n"
    )
    assert classify_log([log]).failure_type == FailureType.DOCKER_BUILD


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Collecting travis\n  Could not find any downloads that satisfy the requirement travis\n"
            "  No distributions at all found for travis\n",
            FailureType.PYTHON_DEPS,
        ),
        (
            'Command "python setup.py egg_info" failed with error code 1 in /tmp/pip-build-x/numpy\n',
            FailureType.PYTHON_DEPS,
        ),
        (
            "<log macros>:4:8: 4:21 error: mismatched types:\n expected `usize`,\n    found `u32`\n"
            "(expected usize,\n    found u32) [E0308]\n",
            FailureType.RUST_BUILD,
        ),
        (
            "gyp ERR! not ok \nnpm ERR! @atom/fuzzy-native@1.1.2 install: `node-gyp rebuild`\n",
            FailureType.FRONTEND_DEPS,
        ),
        (
            "npm ERR! demo@1.0.0 cy:ci: `start-server-and-test cy:serve http://localhost:4201 cy:run`\n"
            "npm ERR! Exit status 1\n",
            FailureType.FRONTEND_TEST,
        ),
        (
            "> Could not HEAD 'https://plugins.gradle.org/m2/a/b/1/b-1.pom'. Received status code 525 "
            "from server: Origin SSL Handshake Error\n",
            FailureType.INFRA_NETWORK,
        ),
    ],
)
def test_older_tool_output_is_still_recognised(text: str, expected: FailureType) -> None:
    assert classify_log([text]).failure_type == expected


def test_ts_loader_diagnostics_are_typescript() -> None:
    log = (
        "ERROR in /opt/build/repo/src/components/index.vue.ts\n"
        "[tsl] ERROR in /opt/build/repo/src/components/index.vue.ts(66,4)\n"
        "      TS2345: Argument of type 'A' is not assignable to parameter of type 'B'.\n"
    )
    assert classify_log([log]).failure_type == FailureType.FRONTEND_TYPESCRIPT


def test_an_apt_mirror_caught_mid_sync_is_transient() -> None:
    log = (
        "E: Failed to fetch https://example.invalid/apt/dists/focal/main/binary-amd64/Packages.bz2  "
        "File has unexpected size (8667 != 7635). Mirror sync in progress? [IP: 10.0.0.1 443]\n"
    )
    verdict = classify_log([log])
    assert verdict.failure_type == FailureType.INFRA_NETWORK
    assert verdict.action.value == "rerun"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Warning: Your dependencies could not be resolved. You likely have a mismatch in your "
            "sub-dependencies.\nCould not find a version that matches requests<2,>=2.31\n",
            FailureType.PYTHON_DEPS,
        ),
        (
            "src/routes/+page.ts:35:5\n"
            "Error: Argument of type 'string' is not assignable to parameter of type 'number'.\n",
            FailureType.FRONTEND_TYPESCRIPT,
        ),
        (
            "Failed to compile.\n./src/app/page.tsx:52:9\n"
            "Type error: Type '{ a?: string; }' is not assignable to type 'B'.\n",
            FailureType.FRONTEND_TYPESCRIPT,
        ),
        (
            "The shrinkwrap file (pnpm-lock.yaml) contains the following issues:\n"
            '  Dependencies of project "@acme/web" do not match the current shrinkwrap.\n',
            FailureType.FRONTEND_DEPS,
        ),
        (
            "npm ERR! gyp info spawn args [\nnpm ERR! gyp info spawn args   'build/config.gypi',\n",
            FailureType.FRONTEND_DEPS,
        ),
        (
            "      > Could not GET 'https://plugins.gradle.org/m2/a/b/1/b-1.pom'.\n",
            FailureType.INFRA_NETWORK,
        ),
        (
            "failed to load advisory database: parse error: error parsing RUSTSEC-2026-0003.md\n",
            FailureType.SECURITY_AUDIT,
        ),
    ],
)
def test_dependency_type_and_network_wordings(text: str, expected: FailureType) -> None:
    assert classify_log([text]).failure_type == expected


def test_pyright_assignability_with_double_quotes_stays_python() -> None:
    text = (
        'src/app.py:3:7 - error: Type "str" is not assignable to declared type "int"\n'
        '    "str" is not assignable to "int" (reportAssignmentType)\n'
        "1 error, 0 warnings, 0 informations\n"
    )
    assert classify_log([text]).failure_type == FailureType.PYTHON_TYPE


def test_a_shell_syntax_error_in_a_run_script_is_not_a_network_failure() -> None:
    log = (
        '##[group]Run ./gradlew assembleRelease -PversionName="2.1.7\n'
        "##[endgroup]\n"
        "/home/runner/work/_temp/abc.sh: line 1: unexpected EOF while looking for matching `\"'\n"
        "##[error]Process completed with exit code 2.\n"
    )
    verdict = classify_log([log])
    assert verdict.failure_type == FailureType.GENERAL
    assert verdict.action.value == "fix"


def test_an_unexpected_eof_from_a_connection_is_still_transient() -> None:
    log = 'Get "https://registry.example.invalid/v2/": unexpected EOF\n'
    assert classify_log([log]).failure_type == FailureType.INFRA_NETWORK


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ComparisonError: Failed to compare desired state to live state: failed to perform "
            "pre-diff normalization\n",
            FailureType.ARGOCD_SYNC,
        ),
        (
            "failed to sync cluster https://10.0.0.1: failed to load initial state of resource "
            "Foo.example.io: forbidden\n",
            FailureType.ARGOCD_SYNC,
        ),
        (
            "FAIL Required test coverage of 85.0% not reached. Total coverage: 42.86%\n",
            FailureType.PYTHON_TEST,
        ),
        (
            "      AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:\n"
            "\ntrue !== false\n\n6 tests failed.\n",
            FailureType.FRONTEND_TEST,
        ),
        (
            "generic-api-key has detected a secret in file ci/deploy.sh, line 4, at commit 18e7.\n",
            FailureType.SECURITY_SECRET,
        ),
        (
            "npm verb stack Error: aborted\n"
            "npm verb stack     at connResetException (node:internal/errors:691:14)\n",
            FailureType.INFRA_NETWORK,
        ),
    ],
)
def test_argo_cd_coverage_assert_gitleaks_and_reset_wordings(
    text: str, expected: FailureType
) -> None:
    assert classify_log([text]).failure_type == expected
