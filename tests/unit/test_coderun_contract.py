"""Healer's CodeRun contract (``healer.coderun``): what it refuses, and that it says what the
platform's CRD says (checked against the published CRD when it is at hand, and against the
hand-written schema the test API server enforces)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from coderun_schema import SCHEMA as TEST_SCHEMA

from healer.coderun import CodeRun, validate_coderun
from healer.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = "coderun.agents.platform.yaml"


def upstream_crd() -> dict[str, Any]:
    """The platform's CodeRun CRD: ``HEALER_UPSTREAM_CRDS``, else ``<repo>/../shared/crds``, else
    ``/work/shared/crds``; the test skips, saying where it looked, when none holds it."""
    places: list[str | Path] = [
        os.environ.get("HEALER_UPSTREAM_CRDS", ""),
        ROOT.parent / "shared" / "crds",
    ]
    places.append("/work/shared/crds")
    tried = []
    for place in places:
        if not place:
            continue
        path = Path(place) / CRD_FILE
        tried.append(str(path))
        if path.is_file():
            docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
            (crd,) = [d for d in docs if d.get("kind") == "CustomResourceDefinition"]
            return dict(crd)
    pytest.skip(f"the upstream CodeRun CRD is not here (looked at {', '.join(tried)})")


def crd_schema(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return dict(version["schema"]["openAPIV3Schema"])


def normalise(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON-schema node in the CRD's terms: type, properties, required, enum,
    items, additionalProperties (optional fields' ``null`` alternative dropped)."""
    if "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in node:
        (node,) = [n for n in node["anyOf"] if n.get("type") != "null"]
        return normalise(node, defs)
    out: dict[str, Any] = {"type": node.get("type")}
    if "enum" in node:
        out["enum"] = node["enum"]
    if node.get("type") == "object":
        if "properties" in node:
            out["properties"] = {k: normalise(v, defs) for k, v in node["properties"].items()}
            out["required"] = node.get("required", [])
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            out["additionalProperties"] = normalise(extra, defs)
        elif extra is True or "properties" not in node:
            out["free"] = True
    if node.get("type") == "array":
        out["items"] = normalise(node["items"], defs)
    return out


def differences(ours: dict[str, Any], theirs: dict[str, Any], path: str) -> list[str]:
    """Where two schemas (ours normalised, theirs a CRD's) disagree on names, types, required
    fields and enums."""
    found: list[str] = []
    if ours.get("type") != theirs.get("type"):
        found.append(f"{path}: type {ours.get('type')} vs {theirs.get('type')}")
        return found
    if sorted(ours.get("enum") or []) != sorted(theirs.get("enum") or []):
        found.append(f"{path}: enum {ours.get('enum')} vs {theirs.get('enum')}")
    if theirs.get("type") == "object":
        if theirs.get("x-kubernetes-preserve-unknown-fields") and "properties" not in theirs:
            if not ours.get("free"):
                found.append(f"{path}: free-form in the CRD, closed in ours")
            return found
        mine, crds = ours.get("properties") or {}, theirs.get("properties") or {}
        for name in sorted(set(mine) ^ set(crds)):
            side = "only ours" if name in mine else "only the CRD's"
            found.append(f"{path}.{name}: {side}")
        if sorted(ours.get("required") or []) != sorted(theirs.get("required") or []):
            found.append(f"{path}: required {ours.get('required')} vs {theirs.get('required')}")
        for name in sorted(set(mine) & set(crds)):
            found += differences(mine[name], crds[name], f"{path}.{name}")
        if "additionalProperties" in theirs or "additionalProperties" in ours:
            found += differences(
                ours.get("additionalProperties") or {},
                theirs.get("additionalProperties") or {},
                f"{path}.*",
            )
    if theirs.get("type") == "array":
        found += differences(ours.get("items") or {}, theirs.get("items") or {}, f"{path}[]")
    return found


def contract_tree() -> dict[str, Any]:
    schema = CodeRun.model_json_schema()
    return normalise(schema, schema["$defs"])


@pytest.mark.parametrize("part", ["spec", "status"])
def test_the_contract_says_what_the_upstream_crd_says(part: str) -> None:
    theirs = crd_schema(upstream_crd())
    ours = contract_tree()["properties"][part]
    assert differences(ours, theirs["properties"][part], part) == []
    assert theirs.get("required") == ["spec"]


@pytest.mark.parametrize("part", ["spec", "status"])
def test_the_test_api_servers_schema_says_what_the_contract_says(part: str) -> None:
    assert (
        differences(contract_tree()["properties"][part], TEST_SCHEMA["properties"][part], part)
        == []
    )


def test_the_upstream_crd_is_structural_without_preserving_unknown_spec_or_status() -> None:
    schema = crd_schema(upstream_crd())
    for part in ("spec", "status"):
        assert not schema["properties"][part].get("x-kubernetes-preserve-unknown-fields")


def test_the_comparison_notices_a_difference() -> None:
    ours = contract_tree()["properties"]["spec"]
    theirs = TEST_SCHEMA["properties"]["spec"]
    changed = {**theirs, "properties": {**theirs["properties"], "taskId": {"type": "string"}}}
    assert differences(ours, changed, "spec") == ["spec.taskId: type integer vs string"]
    fewer = {**theirs, "required": theirs["required"][:-1]}
    assert len(differences(ours, fewer, "spec")) == 1


def valid() -> dict[str, Any]:
    return {
        "apiVersion": "agents.platform/v1",
        "kind": "CodeRun",
        "metadata": {"name": "healer-x-a1", "labels": {"app.kubernetes.io/name": "healer"}},
        "spec": {
            "runType": "remediate",
            "service": "healer",
            "repositoryUrl": "https://github.com/acme/widgets",
            "docsRepositoryUrl": "https://github.com/acme/widgets",
            "workingDirectory": ".",
            "model": "m",
            "githubApp": "App",
            "contextVersion": 1,
            "cliConfig": {"cliType": "claude", "model": "m"},
            "env": {"HEALER_TASK_ID": "x"},
        },
    }


def test_a_valid_coderun_passes_and_dumps_unchanged() -> None:
    assert validate_coderun(valid()).manifest() == valid()


def _spec(**changes: Any) -> dict[str, Any]:
    obj = valid()
    obj["spec"] = {**obj["spec"], **changes}
    return obj


@pytest.mark.parametrize(
    ("obj", "where"),
    [
        (_spec(prompt="Fix it."), "spec.prompt"),
        (_spec(branch="main"), "spec.branch"),
        (_spec(taskId="acme-widgets-7001"), "spec.taskId"),
        (_spec(contextVersion="1"), "spec.contextVersion"),
        (_spec(runType="fix"), "spec.runType"),
        (_spec(env={"HEALER_ATTEMPT": 1}), "spec.env.HEALER_ATTEMPT"),
        (_spec(enableDocker="true"), "spec.enableDocker"),
        (_spec(cliConfig={"cliType": "claude"}), "spec.cliConfig.model"),
        (_spec(cliConfig={"cliType": "c", "model": "m", "cli": "c"}), "spec.cliConfig.cli"),
        (_spec(envFromSecrets=[{"name": "A", "secretName": "s"}]), "spec.envFromSecrets.0"),
        ({**valid(), "status": {"phase": "Succeeded", "commits": []}}, "status.commits"),
        ({**valid(), "status": {"summary": "done"}}, "status.summary"),
        ({**valid(), "status": {"workCompleted": "yes"}}, "status.workCompleted"),
        ({**valid(), "metadata": {"name": "Not_DNS"}}, "metadata.name"),
        ({**valid(), "kind": "Job"}, "kind"),
    ],
)
def test_what_the_crd_refuses_the_contract_refuses(obj: dict[str, Any], where: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_coderun(obj)
    assert where in str(caught.value)


@pytest.mark.parametrize(
    "missing",
    ["service", "repositoryUrl", "docsRepositoryUrl", "workingDirectory", "model", "githubApp"],
)
def test_every_required_spec_field_is_required(missing: str) -> None:
    obj = valid()
    del obj["spec"][missing]
    with pytest.raises(InvalidInput, match=f"spec.{missing}: Field required"):
        validate_coderun(obj)


def test_an_implementation_run_needs_an_integer_task_id_a_remediation_does_not() -> None:
    implementation = _spec(runType="implementation")
    with pytest.raises(InvalidInput, match="taskId"):
        validate_coderun(implementation)
    defaulted = valid()
    del defaulted["spec"]["runType"]  # the CRD's default is implementation
    with pytest.raises(InvalidInput, match="taskId"):
        validate_coderun(defaulted)
    assert validate_coderun(_spec(runType="implementation", taskId=7)).spec.taskId == 7


def test_the_legacy_coderun_fails_the_contract() -> None:
    legacy = {
        "apiVersion": "agents.platform/v1",
        "kind": "CodeRun",
        "metadata": {"name": "healer-acme-widgets-7001-a1"},
        "spec": {
            "taskId": "acme-widgets-7001",
            "attempt": 1,
            "repositoryUrl": "https://github.com/acme/widgets",
            "branch": "feature/parser",
            "agent": "rex",
            "githubApp": "5DLabs-Rex",
            "cli": "claude",
            "model": "m-1",
            "prompt": "Fix it.",
        },
    }
    with pytest.raises(InvalidInput) as caught:
        validate_coderun(legacy)
    message = str(caught.value)
    for where in ("spec.service", "spec.docsRepositoryUrl", "spec.workingDirectory"):
        assert f"{where}: Field required" in message
    for where in ("spec.attempt", "spec.branch", "spec.agent", "spec.cli", "spec.prompt"):
        assert f"{where}: Extra inputs are not permitted" in message
    assert "spec.taskId: Input should be a valid integer" in message
