"""Every labelled sample in tests/corpus/ gets the verdict its sidecar names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from healer_classifier.engine import classify_log

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
SIDECARS = sorted(CORPUS.glob("*/*.json"))


@pytest.mark.parametrize("sidecar", SIDECARS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_corpus_sample(sidecar: Path) -> None:
    meta = json.loads(sidecar.read_text("utf-8"))
    log = sidecar.with_suffix(".log")
    with log.open("rb") as fh:
        verdict = classify_log(
            iter(lambda: fh.read(65536), b""),
            job_name=meta.get("job_name", ""),
            workflow_name=meta.get("workflow_name", ""),
        )
    assert verdict.failure_type == meta["label"], verdict.signals


def test_corpus_is_present() -> None:
    assert SIDECARS, "tests/corpus/ holds no labelled samples"
