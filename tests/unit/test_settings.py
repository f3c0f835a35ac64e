from __future__ import annotations

import json
from pathlib import Path

import pytest

from healer.errors import InvalidInput
from healer.settings import Settings


def test_defaults_are_the_embedded_setup(tmp_path: Path) -> None:
    settings = Settings.load({}, config_path=tmp_path / "absent.json")
    assert settings.state_backend == "memory"
    assert settings.blob_backend == "file"
    assert settings.max_attempts == 3


def test_seed_config_keys_keep_their_meaning(tmp_path: Path) -> None:
    config = tmp_path / "healer-config.json"
    config.write_text(
        json.dumps(
            {
                "cli": "codex",
                "model": "gpt-5",
                "max_attempts": 5,
                "time_window_mins": 30,
                "memory_url": "http://memory:8080",
                "memory_enabled": True,
            }
        )
    )
    settings = Settings.load({}, config_path=config)
    assert (settings.cli, settings.model, settings.max_attempts) == ("codex", "gpt-5", 5)
    assert settings.time_window_mins == 30
    assert settings.memory_enabled is True
    assert settings.memory_url == "http://memory:8080"


def test_environment_wins_over_the_file_and_is_coerced(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"max_attempts": 5}))
    env = {
        "HEALER_MAX_ATTEMPTS": "2",
        "HEALER_ALLOW_FORK_PRS": "true",
        "HEALER_REPO_ALLOW": "acme/*, other/repo",
        "HEALER_GITHUB_TIMEOUT": "2.5",
    }
    settings = Settings.load(env, config_path=config)
    assert settings.max_attempts == 2
    assert settings.allow_fork_prs is True
    assert settings.repo_allow == ("acme/*", "other/repo")
    assert settings.github_timeout == 2.5


def test_config_path_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.json"
    config.write_text(json.dumps({"model": "m1"}))
    assert Settings.load({"HEALER_CONFIG": str(config)}).model == "m1"


def test_bad_values_say_which_setting(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="max_attempts"):
        Settings.load({"HEALER_MAX_ATTEMPTS": "three"}, config_path=tmp_path / "none.json")


def test_config_file_must_be_an_object(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text("[1, 2]")
    with pytest.raises(InvalidInput, match="JSON object"):
        Settings.load({}, config_path=config)


def test_secrets_are_not_in_repr(tmp_path: Path) -> None:
    settings = Settings.load(
        {
            "HEALER_WEBHOOK_SECRET": "s3cr3t-value",
            "HEALER_GITHUB_TOKEN": "ghp_abcdef",
            "HEALER_REDIS_URL": "rediss://healer:r3dis-pass@redis.example:6380/0",
        },
        config_path=tmp_path / "none.json",
    )
    assert "s3cr3t-value" not in repr(settings)
    assert "ghp_abcdef" not in repr(settings)
    assert "r3dis-pass" not in repr(settings)


def test_unknown_config_keys_are_named_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"model": "m1", "max_attempt": 9}))
    with caplog.at_level("WARNING", logger="healer.settings"):
        settings = Settings.load({}, config_path=config)
    assert settings.model == "m1" and settings.max_attempts == 3
    assert "ignoring unknown keys max_attempt" in caplog.text


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HEALER_STATE_BACKEND": "postgres"}, "state_backend='postgres' is not one of memory"),
        ({"HEALER_BLOB_BACKEND": "gcs"}, "blob_backend='gcs' is not one of file, s3"),
        ({"HEALER_CODERUN_BACKEND": "k8s"}, "coderun_backend='k8s' is not one of outbox"),
        ({"HEALER_ALLOW_FORK_PRS": "ture"}, "allow_fork_prs='ture' is not a boolean"),
        ({"HEALER_IGNORE_BOTS": "nope"}, "ignore_bots='nope' is not a boolean"),
        ({"HEALER_MAX_ATTEMPTS": "three"}, "max_attempts='three' is not a valid int"),
        ({"HEALER_MAX_ATTEMPTS": "0"}, "max_attempts=0 must be at least 1"),
        ({"HEALER_MAX_ATTEMPTS": "-1"}, "max_attempts=-1 must be at least 1"),
        ({"HEALER_MAX_CONCURRENT": "0"}, "max_concurrent=0 must be at least 1"),
        ({"HEALER_GITHUB_TIMEOUT": "nan"}, "github_timeout='nan' is not a valid float"),
        ({"HEALER_GITHUB_TIMEOUT": "0"}, "github_timeout=0.0 must be at least 0.1"),
        ({"HEALER_BREAKER_THRESHOLD": "-3"}, "breaker_threshold=-3 must be at least 0"),
    ],
)
def test_bad_settings_are_refused_at_load_naming_the_setting_and_its_origin(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidInput, match="invalid settings") as caught:
        Settings.load(env, config_path=tmp_path / "absent.json")
    assert message in str(caught.value)
    assert f"from {next(iter(env))}" in str(caught.value)


def test_bad_values_in_the_file_are_refused_too_and_all_are_named(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(
        json.dumps({"max_attempts": 2.5, "memory_enabled": "ture", "max_concurrent": True})
    )
    with pytest.raises(InvalidInput) as caught:
        Settings.load({}, config_path=config)
    text = str(caught.value)
    for name in ("max_attempts=2.5", "memory_enabled='ture'", "max_concurrent=True"):
        assert name in text
    assert f"in {config}" in text


def test_well_formed_values_still_load(tmp_path: Path) -> None:
    env = {
        "HEALER_ALLOW_FORK_PRS": " Off ",
        "HEALER_IGNORE_BOTS": "YES",
        "HEALER_STATE_BACKEND": " Redis",
        "HEALER_MAX_ATTEMPTS": "1",
    }
    settings = Settings.load(env, config_path=tmp_path / "absent.json")
    assert (settings.allow_fork_prs, settings.ignore_bots) == (False, True)
    assert (settings.state_backend, settings.max_attempts) == ("redis", 1)


def test_a_secret_setting_is_never_echoed_in_the_error(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"webhook_secret": {"value": "s3cr3t-value"}}))
    with pytest.raises(InvalidInput) as caught:
        Settings.load({}, config_path=config)
    assert "s3cr3t" not in str(caught.value) and "webhook_secret=(hidden)" in str(caught.value)
