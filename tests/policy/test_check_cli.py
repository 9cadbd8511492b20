"""`mlops check`: exit 0 on the repository's stack files, 1 on a mandatory violation, one line per violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_component.tools import check, cli, policies
from mlops_component.tools.offline import Registered

REPOSITORY = Path(__file__).resolve().parents[2]


def test_the_repositorys_stack_files_pass(capsys: pytest.CaptureFixture[str]) -> None:
    stack_files = sorted(REPOSITORY.glob("Pulumi.*.yaml"))
    assert stack_files
    for path in stack_files:
        assert cli.main(["check", "--stack-file", str(path)]) == 0
        out = capsys.readouterr().out
        assert "resources checked" in out and out.rstrip().endswith("0 mandatory, 0 advisory violation(s)")


def with_extra(monkeypatch: pytest.MonkeyPatch, extra: Registered) -> None:
    """The stack `check` builds, plus one resource another part of a program might add."""
    build = check.build
    monkeypatch.setattr(check, "build", lambda config, stack="check": [*build(config, stack), extra])


def test_a_mandatory_violation_is_printed_and_fails_the_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with_extra(
        monkeypatch, Registered(policies.LOG_GROUP, "debug-logs", {"name": "/debug", "tags": {"a": "b"}})
    )
    assert cli.main(["check", "--stack-file", str(REPOSITORY / "Pulumi.dev.yaml")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert (
        "mandatory log-group-retention debug-logs: log group debug-logs keeps its events forever; "
        in (lines[-2][: lines[-2].index(";") + 2])
    )
    assert lines[-1] == "1 mandatory, 0 advisory violation(s)"


def test_an_advisory_violation_is_printed_but_passes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with_extra(monkeypatch, Registered("aws:sns/topic:Topic", "untagged-topic", {"name": "t"}))
    assert cli.main(["check", "--stack-file", str(REPOSITORY / "Pulumi.dev.yaml")]) == 0
    assert "advisory resources-tagged untagged-topic: " in capsys.readouterr().out


def test_a_policy_with_s3_wildcard_fails_both_the_pack_and_the_lint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'
    )
    with_extra(monkeypatch, Registered("aws:iam/rolePolicy:RolePolicy", "too-broad", {"policy": policy}))
    assert cli.main(["check", "--stack-file", str(REPOSITORY / "Pulumi.dev.yaml")]) == 1
    out = capsys.readouterr().out
    assert "mandatory iam-no-wildcard-actions too-broad: " in out
    assert "mandatory iam-lint too-broad: policy: " in out


def test_an_invalid_stack_file_is_reported_without_building(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text("config:\n  mlops:jobNmae: x\n")
    assert cli.main(["check", "--stack-file", str(stack)]) == 1
    err = capsys.readouterr().err
    assert f"{stack}: invalid" in err and "mlops:jobNmae: unknown key" in err


def test_a_stack_that_cannot_be_built_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlops_component.components import pipeline

    def refuse(self, name, config, opts=None) -> None:
        raise ValueError("byoModelImageSourcePath: no Dockerfile in ./container")

    monkeypatch.setattr(pipeline.MlOpsPipeline, "__init__", refuse)
    assert cli.main(["check", "--stack-file", str(REPOSITORY / "Pulumi.dev.yaml")]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"{REPOSITORY / 'Pulumi.dev.yaml'}: cannot build the stack offline: "
        "byoModelImageSourcePath: no Dockerfile in ./container\n"
    )
