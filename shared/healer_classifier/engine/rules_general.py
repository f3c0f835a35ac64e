"""Evidence for failures outside the taxonomy, and lines that name the command that failed.

Java, Go, C/C++, .NET, Ruby and shell failures have no specialist type: positive evidence for
``general`` keeps a stray word in their output (a Maven ``[ERROR]`` line, a ``FAILED`` test) from
being read as a wrong specific type. Command rules capture a failed command or npm script from
wrapper output (``Command failed: npm run test``); ``names.command_type`` reads it like a step
command.
"""

from __future__ import annotations

from healer.vocabulary import FailureType as T
from healer_classifier.engine.rule import Rule
from healer_classifier.engine.rule import rule as _r

G = T.GENERAL
_C_SOURCE = r"\.(?:c|cc|cpp|cxx|c\+\+|h|hh|hpp|hxx|m|mm|cu|swift)"

OTHER_ECOSYSTEM_RULES: tuple[Rule, ...] = (
    # Java and Kotlin: Maven, Gradle, javac, JUnit
    _r(G, 3.0, "BUILD FAILURE", "Maven build failure", r"^\[INFO\] BUILD FAILURE\s*$"),
    _r(G, 3.0, "Failed to execute goal", "Maven goal failed"),
    _r(G, 2.5, "COMPILATION ERROR", "javac compilation error"),
    _r(G, 1.5, "<<< FAILURE!", "JUnit test failure"),
    _r(G, 1.5, "<<< ERROR!", "JUnit test error"),
    _r(
        G,
        1.5,
        "Tests run: ",
        "JUnit summary with failures",
        r"Tests run: \d+, Failures: (?:[1-9]\d*, Errors: \d+|\d+, Errors: [1-9])",
    ),
    _r(G, 2.5, ".java:", "javac error", r"\.java:(?:\[\d+,\d+\] |\d+: error: )"),
    _r(G, 3.5, "FAILURE: Build failed with an exception", "Gradle build failed"),
    _r(G, 3.0, "Execution failed for task", "Gradle task failed"),
    _r(G, 1.5, "BUILD FAILED in ", "Gradle build failed"),
    _r(G, 2.5, ".kt", "Kotlin compiler error", r"^e: (?:file://)?\S+\.kts?:"),
    # Shell scripts
    _r(G, 3.0, "while looking for matching", "shell syntax error (unbalanced quote)"),
    _r(G, 3.0, "syntax error: unexpected end of file", "shell syntax error"),
    # Go
    _r(G, 3.0, "--- FAIL: ", "go test failure", r"^\s*--- FAIL: \S+"),
    _r(G, 3.0, "FAIL\t", "go test package failed", r"^FAIL\t\S+"),
    _r(G, 2.5, ".go:", "Go compiler or vet error", r"^\S+\.go:\d+:\d+: "),
    _r(G, 1.5, "panic: ", "Go panic", r"^panic: "),
    # C and C++
    _r(G, 3.0, ": error: ", "C/C++ compiler error", _C_SOURCE + r":\d+:\d+: (?:fatal )?error: "),
    _r(G, 3.0, "CMake Error", "CMake error"),
    _r(G, 1.5, "undefined reference to", "linker error"),
    _r(G, 1.0, ": *** ", "make target failed", r"^g?make(?:\[\d+\])?: \*\*\* "),
    # .NET
    _r(G, 3.0, "error CS", "C# compiler error", r"error CS\d{4}:"),
    _r(G, 2.0, "error MSB", "MSBuild error", r"error MSB\d{4}:"),
    _r(G, 2.0, "error NU", "NuGet error", r"error NU\d{4}:"),
    _r(G, 2.5, "Failed!  - Failed:", "dotnet test summary"),
    # Ruby, PHP, Elixir, Swift
    _r(G, 3.0, "rspec ./", "RSpec failed example", r"^rspec \./\S+:\d+"),
    _r(G, 2.5, "examples, ", "RSpec summary", r"^\d+ examples?, [1-9]\d* failures?"),
    _r(G, 2.5, "FAILURES!", "PHPUnit failures", r"^FAILURES!$"),
    _r(G, 2.0, "tests, ", "ExUnit summary", r"^\d+ tests?, [1-9]\d* failures?"),
    _r(G, 3.0, "** BUILD FAILED **", "xcodebuild failed"),
    _r(G, 3.0, "** TEST FAILED **", "xcodebuild tests failed"),
    _r(G, 1.0, "[error] ", "sbt error", r"^\[error\] "),
    _r(G, 2.5, "PHP Parse error:", "PHP parse error"),
    _r(
        G, 2.5, "offenses detected", "RuboCop offenses", r"\d+ files? inspected, [1-9]\d* offenses?"
    ),
    _r(G, 2.0, "^-- SC", "shellcheck finding", r"\^-- SC\d{4} "),
    _r(G, 2.0, "Some tests failed.", "Dart/Flutter tests failed"),
    # the shell itself
    _r(
        G,
        2.0,
        "command not found",
        "missing command",
        r"(?:^|: )(?:line \d+: )?[\w./+-]+: command not found",
    ),
    _r(
        G,
        1.5,
        "Permission denied",
        "script not executable",
        r"^\S+: (?:line \d+: )?\S+: Permission denied$",
    ),
)

# The type is a placeholder: the captured command (or npm script) decides it at match time.
COMMAND_RULES: tuple[Rule, ...] = (
    _r(G, 2.0, "Command failed: ", "failed command", r"Command failed: (?P<cmd>.+)", command=True),
    _r(
        G,
        2.0,
        "Command failed with exit code ",
        "failed command",
        r"Command failed with exit code \d+: (?P<cmd>.+)",
        command=True,
    ),
    _r(
        G,
        2.0,
        "command sh -c ",
        "npm script command",
        r"npm (?:ERR!|error) command sh -c (?P<cmd>.+)",
        command=True,
    ),
    _r(
        G,
        2.0,
        " /d /s /c ",
        "npm script command",
        r"npm (?:ERR!|error) command \S*cmd(?:\.exe)? /d /s /c (?P<cmd>.+)",
        command=True,
    ),
    _r(
        G,
        2.0,
        "Lifecycle script `",
        "npm script failed",
        r"Lifecycle script `(?P<script>[^`]+)` failed",
        command=True,
    ),
    _r(
        G,
        2.0,
        "npm ERR! ",
        "npm script failed",
        r"^(?:> )?(?:\[[\w:.-]+\] )?npm ERR! \S+@\S+ (?P<script>[\w:.-]+): `(?P<cmd>.+)`$",
        command=True,
    ),
    _r(
        G,
        2.0,
        "RUN_FIRST_FAIL",
        "pnpm script failed",
        r"RUN_FIRST_FAIL\s+\S+ (?P<script>[\w:.-]+): `?(?P<cmd>[^`]*)",
        command=True,
    ),
    _r(
        G,
        2.0,
        " exited (",
        "workspace task failed",
        r"#(?P<script>[\w:.-]+): command \(.*?\) (?P<cmd>.+) exited \(\d+\)",
        command=True,
    ),
    _r(
        G,
        2.0,
        '" exited with ',
        "npm-run-all task failed",
        r'^ERROR: "(?P<script>[\w:.-]+)" exited with [1-9]\d*\.',
        command=True,
    ),
    _r(
        G,
        2.0,
        "lerna ERR! ",
        "lerna task failed",
        r"lerna ERR! (?P<cmd>.+?) exited \d+ in ",
        command=True,
    ),
    _r(
        G,
        2.0,
        "Running target ",
        "nx target failed",
        r"Running targets? (?P<script>[\w:-]+) for .*\bfailed",
        command=True,
    ),
    _r(
        G,
        2.0,
        "nox > Command ",
        "nox session command failed",
        r"nox > Command (?P<cmd>.+?) failed with exit code",
        command=True,
    ),
    _r(
        G,
        2.0,
        "The process '",
        "action tool failed",
        r"The process '(?P<cmd>[^']+)' failed with exit code",
        command=True,
    ),
)

GENERAL_RULES: tuple[Rule, ...] = (*OTHER_ECOSYSTEM_RULES, *COMMAND_RULES)
