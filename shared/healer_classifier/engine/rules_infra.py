"""Evidence rules for the runner's own failures and for infrastructure as code.

``infra_runner``: a process killed for memory, a full disk, a runner that was lost or shut down,
a job pod that could not be scheduled or that the node turned away or evicted, a job or step past
its time limit. Nothing in the code
is to blame, so the verdict is a re-run, never an agent. ``RUNNER_KILL_LABELS`` name the kills
that outrank whatever the killed tool printed before it died (a half-compiled crate).

``infra_iac``: Terraform/OpenTofu diagnostics (``on main.tf line 3``, ``validate -json``, the
``-json`` UI), tflint, tfsec, checkov on Terraform, conftest on HCL or a plan, Pulumi's CLI and
Automation API errors, Ansible task failures.
"""

from __future__ import annotations

from healer.vocabulary import FailureType as T
from healer_classifier.engine.rule import Rule
from healer_classifier.engine.rule import rule as _r

R = T.INFRA_RUNNER
I = T.INFRA_IAC  # noqa: E741

KILLED = "process killed (out of memory or a signal)"
NODE_OOM = "Node.js heap out of memory"
EXIT_137 = "exit code 137 (SIGKILL)"
RUNNER_KILL_LABELS = frozenset({KILLED, NODE_OOM, EXIT_137, "container OOMKilled", "out of memory"})
# Labels that mean "re-run": everything but a plain cancellation, which is not a rule.
RUNNER_RULES: tuple[Rule, ...] = (
    # Memory: the kernel's OOM killer, or a runtime's own heap limit.
    _r(R, 5.0, "JavaScript heap out of memory", NODE_OOM),
    _r(R, 2.0, "Reached heap limit", NODE_OOM),
    _r(R, 2.0, "Ineffective mark-compacts near heap limit", NODE_OOM),
    _r(R, 5.0, "SIGKILL: kill", KILLED),  # cargo: `rustc …` (signal: 9, SIGKILL: kill)
    _r(R, 4.0, "signal: killed", KILLED, r"(?:^|: )signal: killed$"),  # Go's exec
    _r(
        R,
        4.5,
        "Killed",
        KILLED,
        r"^(?:\S+: (?:line \d+: )?\s*\d+\s+)?Killed\b(?! by)|\bKilled\s+\S*(?:cargo|rustc|node|"
        r"npm|yarn|pnpm|python\d*|pytest|java|gradle|cc1plus|cc1|ld)\b",
    ),
    _r(R, 4.0, "terminated with signal 9", KILLED),
    _r(R, 4.0, "*** Signal 9", KILLED, r"^\*\*\* (?:\[[^\]]*\] )?Signal 9\b"),  # BSD make
    _r(
        R, 4.5, "Killed signal terminated program", KILLED
    ),  # gcc: cc1plus killed  # collect2: ld terminated with signal 9
    *(
        _r(R, 4.0, needle, EXIT_137, needle + r"\b")
        for needle in (
            "exit code 137",
            "exit code: 137",
            "exit status 137",
            "returned a non-zero code: 137",
            "Error 137",
        )
    ),
    # 128+15: SIGTERM from outside (a runner's or pod's stop). Kept below RUNNER_DECISIVE even
    # with the failure-block bonus: a tool's own timeout sends it too, after real failures.
    _r(R, 2.5, "exit code 143", "exit code 143 (SIGTERM)", r"exit code:? 143\b"),
    _r(R, 2.5, "exit status 143", "exit code 143 (SIGTERM)", r"exit status 143\b"),
    _r(R, 5.0, "OOMKilled", "container OOMKilled"),
    _r(R, 4.0, "Out of memory: Killed process", "out of memory"),
    _r(R, 4.0, "runtime: out of memory", "out of memory"),  # Go
    _r(R, 3.0, "java.lang.OutOfMemoryError", "out of memory"),
    _r(R, 3.0, "memory allocation of ", "out of memory", r"memory allocation of \d+ bytes failed"),
    _r(R, 3.0, "Cannot allocate memory", "out of memory"),
    # Disk.
    _r(R, 4.0, "No space left on device", "disk full"),
    _r(R, 4.0, "no space left on device", "disk full"),
    _r(R, 4.0, "You are running out of disk space", "disk full"),
    _r(R, 4.0, "space on device", "disk full", r"(?i)\bno space (?:left )?on device"),
    _r(R, 4.0, "not enough space on the disk", "disk full"),  # Windows
    # Time limits: the platform stopped the job or step.
    _r(R, 5.0, "has exceeded the maximum execution time", "job timed out"),
    _r(R, 5.0, "has timed out", "step timed out", r"The action (?:'[^']*' )?has timed out"),
    _r(R, 4.5, "execution took longer than", "job timed out"),  # GitLab
    _r(R, 4.5, "Too long with no output", "job timed out"),  # CircleCI
    _r(R, 4.5, "No output has been received in the last", "job timed out"),  # Travis
    _r(R, 4.5, "exceeded the maximum time limit for jobs", "job timed out"),  # Travis
    # The runner itself went away.
    _r(R, 5.0, "lost communication with the server", "runner lost"),
    _r(R, 5.0, "The runner has received a shutdown signal", "runner shut down"),
    _r(R, 4.5, "Received request to deprovision", "runner deprovisioned"),
    _r(R, 4.5, "was not acquired by Runner", "no runner acquired the job"),
    _r(R, 4.5, "no enabled runners online", "no runner online"),
    _r(R, 4.5, "runner encountered an error while running your job", "runner error"),
    _r(R, 4.0, "Job failed (system failure)", "runner system failure"),  # GitLab
    # The job's pod (self-hosted runners on Kubernetes) could not be scheduled or started.
    _r(R, 4.0, "nodes are available", "pod unschedulable", r"\d+/\d+ nodes are available"),
    _r(R, 3.5, "FailedScheduling", "pod unschedulable"),
    _r(R, 2.5, "Unschedulable", "pod unschedulable"),
    _r(R, 3.0, "Insufficient ", "pod unschedulable", r"Insufficient (?:cpu|memory|ephemeral-s)"),
    _r(R, 3.0, "didn't trigger scale-up", "pod unschedulable"),
    _r(R, 4.5, "pod failed to come online", "job pod did not start"),  # runner container hooks
    _r(R, 4.5, "timed out waiting for pod to start", "job pod did not start"),  # GitLab
    _r(R, 3.0, "waiting for pod running", "job pod did not start"),
    _r(R, 2.5, "unbound immediate PersistentVolumeClaims", "pod unschedulable"),
    # The kubelet refused (admission) or evicted the job's pod for the node's resources.
    _r(
        R,
        4.0,
        "didn't have enough resource",
        "pod rejected by the node",
        r"Node didn't have enough resources?: ",
    ),
    _r(
        R,
        3.0,
        "OutOf",
        "pod rejected by the node",
        r"\bOutOf(?:cpu|memory|pods|ephemeral-storage)\b",
    ),
    _r(R, 4.0, "The node was low on resource: ", "pod evicted"),
    _r(R, 3.5, "The node had condition: ", "pod evicted"),
    _r(R, 3.5, "usage exceeds the total limit of containers", "pod evicted (ephemeral storage)"),
)

_TF = r"\S+\.(?:tf|tofu|tf\.json|tofu\.json|tfvars|hcl)"
IAC_RULES: tuple[Rule, ...] = (
    # Terraform/OpenTofu diagnostics: "Error: <summary>" then "on main.tf line 12, in …".
    *(
        _r(I, 4.0, needle, "Terraform diagnostic location", rf"^[│|]?\s*on {_TF} line \d+")
        for needle in (".tf line ", ".tofu line ", ".tf.json line ", ".tfvars line ")
    ),
    _r(I, 3.0, "Terraform exited with code", "setup-terraform wrapper"),
    _r(I, 3.0, "Tofu exited with code", "setup-opentofu wrapper"),
    _r(I, 4.0, "then encountered a problem", "Terraform plan/apply failed part-way"),
    _r(I, 3.0, "Inconsistent dependency lock file", "Terraform lock file"),
    _r(I, 3.0, "Error acquiring the state lock", "Terraform state lock"),
    _r(I, 3.0, "Failed to query available provider packages", "Terraform provider install"),
    _r(I, 3.0, "Module not installed", "Terraform module not installed"),
    _r(I, 2.5, "No value for required variable", "Terraform variable missing"),
    _r(I, 2.5, "Reference to undeclared", "Terraform undeclared reference"),
    _r(I, 2.0, "Unsupported argument", "Terraform unsupported argument"),
    _r(I, 2.0, "Missing required argument", "Terraform missing argument"),
    _r(I, 2.0, "Unsupported block type", "Terraform unsupported block"),
    _r(I, 2.0, "Invalid resource type", "Terraform invalid resource type"),
    _r(I, 2.0, "Terraform initialized in an empty directory", "Terraform: no configuration"),
    # tflint
    _r(I, 4.0, "issue(s) found:", "tflint issues", r"^\d+ issue\(s\) found:"),
    _r(I, 2.5, "(terraform_", "tflint rule", r"\(terraform_[a-z_]+\)$"),
    # checkov on Terraform; conftest on HCL; Ansible
    _r(I, 3.5, "terraform scan results:", "checkov Terraform results"),
    _r(I, 3.5, "terraform_plan scan results:", "checkov Terraform plan results"),
    _r(I, 2.5, "FAILED for resource: ", "checkov Terraform finding", r"resource: [a-z]+_\w+\."),
    _r(I, 2.0, "File: ", "checkov Terraform file", rf"^\s*File: /?{_TF}:\d+"),
    _r(I, 3.5, "FAIL - ", "conftest on Terraform", rf"^FAIL - {_TF} - "),
    # checkov JSON, tfsec (text and JSON), tflint JSON, `terraform validate -json`, `-json` UI
    _r(
        I,
        3.5,
        '"check_type"',
        "checkov JSON on IaC",
        r'"check_type"\s*:\s*"(?:terraform|terraform_plan|cloudformation|arm|bicep|serverless)"',
    ),
    _r(
        I,
        2.5,
        '"check_class"',
        "checkov check on IaC",
        r'"check_class"\s*:\s*"checkov\.(?:terraform|cloudformation|arm|bicep|serverless)\.',
    ),
    _r(I, 3.5, "potential problem(s) detected", "tfsec summary"),
    _r(I, 3.0, '"rule_provider"', "tfsec JSON"),
    _r(I, 2.5, '"legacy_rule_id"', "tfsec JSON"),
    _r(I, 2.5, "tfsec.dev/docs/", "tfsec check link"),
    _r(I, 2.5, "aquasecurity.github.io/tfsec/", "tfsec check link"),
    _r(I, 3.0, "tflint-ruleset-", "tflint rule link"),
    _r(I, 2.0, '"error_count"', "terraform validate JSON", r'"error_count"\s*:\s*[1-9]'),
    _r(I, 2.0, '"filename"', "Terraform JSON diagnostic", rf'"filename"\s*:\s*"{_TF}"'),
    _r(
        I,
        3.5,
        '"@module"',
        "Terraform machine-readable UI error",
        r'"@level"\s*:\s*"error".*"@module"\s*:\s*"(?:terraform|tofu)\.ui"',
    ),
    # conftest on a plan rendered as JSON (`terraform show -json`): its findings name resources
    # by their Terraform address, provider_type.name.
    _r(
        I,
        3.5,
        "FAIL - ",
        "conftest on a Terraform plan",
        r"^FAIL - \S+\.json - .*\b(?:aws|azurerm|azuread|google|oci|alicloud|ibm|digitalocean)_"
        r"[a-z0-9_]+\.[\w-]+",
    ),
    # Pulumi: the CLI's fixed errors, its diagnostics and the Automation API's CommandError.
    _r(I, 3.5, "while advancing the preview", "Pulumi preview failed"),
    _r(
        I,
        3.5,
        "must be passed in to proceed when running in non-interactive mode",
        "Pulumi non-interactive",
    ),
    _r(I, 3.0, "error: an unhandled error occurred: ", "Pulumi program failed"),
    _r(I, 3.0, "pulumi:pulumi:Stack", "Pulumi stack diagnostics"),
    _r(I, 2.0, "error: update failed", "Pulumi update failed", r"^\s*error: update failed\s*$"),
    _r(I, 2.0, "error: preview failed", "Pulumi preview failed", r"^\s*error: preview failed\s*$"),
    _r(I, 2.5, "CommandError: code: ", "Pulumi Automation API"),
    _r(I, 1.5, "Previewing update", "Pulumi preview"),
    _r(I, 3.5, "ConcurrentUpdateError", "Pulumi concurrent update"),
    _r(
        I,
        3.5,
        "Another update is currently in progress",
        "Pulumi concurrent update",
    ),
    # CloudFormation, as the aws cli's waiters, SAM, CDK and the Serverless Framework report it.
    _r(
        I,
        4.0,
        "Complete failed",
        "CloudFormation waiter failed",
        r"Waiter (?:Stack|ChangeSet)\w*Complete failed",
    ),
    _r(
        I,
        3.5,
        "ROLLBACK_",
        "CloudFormation stack rolled back",
        r"\b(?:UPDATE_)?ROLLBACK_(?:COMPLETE|FAILED|IN_PROGRESS)\b",
    ),
    _r(
        I,
        4.0,
        "resource(s) failed to ",
        "CloudFormation resources failed",
        r"The following resource\(s\) failed to (?:create|update|delete): \[",
    ),
    _r(
        I,
        3.5,
        "resource signal",
        "CloudFormation signal timeout",
        r"Failed to receive \d+ resource signal\(s\)",
    ),
    _r(
        I,
        3.0,
        "arn:aws:cloudformation:",
        "CloudFormation stack",
        r"arn:aws:cloudformation:\S+ is in \w+ state",
    ),
    _r(I, 1.5, "[resource plugin ", "Pulumi resource plugin"),
    _r(I, 3.5, "fatal: [", "Ansible task failed", r"^fatal: \[[^\]]+\]: (?:FAILED|UNREACHABLE)!"),
)

INFRA_RULES: tuple[Rule, ...] = (*RUNNER_RULES, *IAC_RULES)
