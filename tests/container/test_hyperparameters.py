"""Hyperparameters: SageMaker's all-string JSON into a typed model; unknown or invalid values fail clearly."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from xgb_model import hyperparameters
from xgb_model.hyperparameters import (
    HyperparameterError,
    Hyperparameters,
    load_contract,
    load_hyperparameters,
    parse_hyperparameters,
)

from mlops_component.components.model_image import build_context_files
from mlops_component.config.image_contract import own_image_contract
from tests.container.conftest import CONTAINER_DIR


def test_every_tuned_and_static_hyperparameter_of_the_default_config_is_understood(make_config) -> None:
    config = make_config()
    names = set(config.parameter_ranges.names()) | set(config.static_hyperparameters)
    assert names == {
        "gamma", "min_child_weight", "subsample", "max_delta_step", "scale_pos_weight", "max_depth", "kfold_splits",
    }  # fmt: skip
    # The values SageMaker would send for the middle of each range, as strings.
    sent = {"gamma": "5", "min_child_weight": "10.5", "subsample": "0.3", "max_delta_step": "0.5",
            "scale_pos_weight": "5.5", "max_depth": "5", "kfold_splits": "5"}  # fmt: skip
    assert set(sent) == names
    params = parse_hyperparameters(sent)
    assert (params.gamma, params.min_child_weight, params.subsample) == (5.0, 10.5, 0.3)
    assert (params.max_delta_step, params.scale_pos_weight) == (0.5, 5.5)
    assert (params.max_depth, params.kfold_splits) == (5, 5)
    booster = params.booster_params(nthread=2)
    assert booster["tree_method"] == "hist" and booster["objective"] == "binary:logistic"
    assert {k: booster[k] for k in ("gamma", "max_depth", "subsample", "nthread")} == {
        "gamma": 5.0, "max_depth": 5, "subsample": 0.3, "nthread": 2,
    }  # fmt: skip


def test_range_bounds_of_the_default_config_are_valid_values(make_config) -> None:
    ranges = make_config().parameter_ranges
    for numeric in [*ranges.continuous_parameter_ranges, *ranges.integer_parameter_ranges]:
        for bound in (numeric.min_value, numeric.max_value):
            # parse_hyperparameters raises if a tuner could pick a value the container rejects.
            parsed = parse_hyperparameters({numeric.name: bound})
            assert float(getattr(parsed, numeric.name)) == float(bound), numeric.name


def test_keys_sagemaker_adds_are_ignored() -> None:
    params = parse_hyperparameters(
        {
            "_tuning_objective_metric": "roc_auc",
            "sagemaker_container_log_level": "20",
            "sagemaker_job_name": '"job"',
            "eta": "0.1",
        }
    )
    assert params.eta == 0.1
    assert params == Hyperparameters(eta=0.1)


def test_lambda_is_accepted_under_xgboost_s_name() -> None:
    params = parse_hyperparameters({"lambda": "2.5", "alpha": "0.5"})
    assert params.reg_lambda == 2.5
    assert params.booster_params(nthread=1)["lambda"] == 2.5


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"max_depht": "5"}, "unknown hyperparameter 'max_depht'"),
        ({"max_depth": "five"}, "max_depth='five'"),
        ({"max_depth": "5.5"}, "max_depth='5.5'"),
        ({"subsample": "1.5"}, "subsample='1.5'"),
        ({"eta": "0"}, "eta='0'"),
        ({"gamma": "nan"}, "gamma='nan'"),
        ({"scale_pos_weight": "inf"}, "scale_pos_weight='inf'"),
        ({"kfold_splits": "1"}, "kfold_splits='1'"),
    ],
)
def test_unknown_or_invalid_values_fail_naming_the_key(raw: dict[str, str], expected: str) -> None:
    with pytest.raises(HyperparameterError) as raised:
        parse_hyperparameters(raw)
    assert expected in str(raised.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(HyperparameterError) as raised:
        parse_hyperparameters({"max_depth": "-1", "colour": "red"})
    assert "max_depth" in str(raised.value) and "'colour'" in str(raised.value)


def test_file_loading(tmp_path: Path) -> None:
    assert load_hyperparameters(tmp_path / "missing.json") == Hyperparameters()
    path = tmp_path / "hyperparameters.json"
    path.write_text(json.dumps({"num_round": "7"}))
    assert load_hyperparameters(path).num_round == 7
    path.write_text("{not json")
    with pytest.raises(HyperparameterError, match="not valid JSON"):
        load_hyperparameters(path)
    path.write_text('["num_round"]')
    with pytest.raises(HyperparameterError, match="JSON object"):
        load_hyperparameters(path)


def test_the_model_is_the_contract_the_config_checks_against() -> None:
    contract = own_image_contract(None)
    fields = {f.alias or name for name, f in hyperparameters._model().model_fields.items()}
    assert fields == set(Hyperparameters().model_dump(by_alias=True))
    assert fields == set(contract.hyperparameters) == set(load_contract()["hyperparameters"])
    defaults = {name: spec["default"] for name, spec in load_contract()["hyperparameters"].items()}
    assert Hyperparameters().model_dump(by_alias=True) == defaults


def test_booster_params_carry_every_hyperparameter_but_the_training_loop_s() -> None:
    booster = Hyperparameters().booster_params(nthread=3)
    assert "num_round" not in booster and "kfold_splits" not in booster
    assert {"eta", "lambda", "alpha", "max_bin", "seed", "max_depth"} <= set(booster)
    assert (booster["eta"], booster["max_depth"], booster["nthread"]) == (0.1, 4, 3)


values = st.one_of(
    st.integers(-10, 5000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", " 5", "5.0", "1e3", "0x10", "+3", "1_000", "true", "nan", "-0", "2147483648"]),
    st.text(max_size=6),
)


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(sorted(load_contract()["hyperparameters"])), value=values)
def test_the_config_accepts_exactly_the_values_the_image_accepts(name: str, value: str) -> None:
    # A static value or range bound the config lets through must not stop a training job, and the reverse.
    config_accepts = own_image_contract(None).hyperparameters[name].problem(value) is None
    try:
        parse_hyperparameters({name: value})
        image_accepts = True
    except HyperparameterError:
        image_accepts = False
    assert config_accepts == image_accepts, (name, value)


def test_the_contract_reaches_the_image() -> None:
    # `COPY xgb_model /opt/program/xgb_model` and .dockerignore's `!xgb_model/` carry it into the build.
    assert "xgb_model/contract.json" in build_context_files(CONTAINER_DIR)
    assert "COPY xgb_model /opt/program/xgb_model" in (CONTAINER_DIR / "Dockerfile").read_text()


json_values = st.one_of(
    values,
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(["0", "00", "01", "-1", "0.5", "1.", ".5", "-0.0", "1.0000000000000002", "4096", "4097"]),
)
keys = st.sampled_from([*sorted(load_contract()["hyperparameters"]), "reg_lambda", "colour"])


@settings(max_examples=600, deadline=None)
@given(raw=st.dictionaries(keys, json_values, max_size=4))
@example(raw={"gamma": math.inf, "eta": "0.3"})
@example(raw={"max_depth": "05", "lambda": "2", "reg_lambda": "3"})
def test_plain_values_are_read_as_pydantic_reads_them(raw: dict[str, object]) -> None:
    """The fast path (no pydantic) accepts only what pydantic accepts, and reads the same numbers."""
    plain = hyperparameters._plain_values(raw)
    try:
        expected = hyperparameters._validate(raw)
    except HyperparameterError:
        assert plain is None, raw
        return
    if plain is not None:
        assert plain == {key: expected[key] for key in plain}, raw
        assert {key: type(value) for key, value in plain.items()} == {
            key: type(expected[key]) for key in plain
        }


def test_a_trial_validates_plain_hyperparameters_without_importing_pydantic() -> None:
    code = (
        "import sys; from xgb_model.hyperparameters import parse_hyperparameters; "
        "p = parse_hyperparameters({'max_depth': '5', 'eta': '0.3', 'lambda': '2', '_tuning_objective_metric': 'f1'}); "
        "print(p.max_depth, p.eta, p.reg_lambda, 'pydantic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=CONTAINER_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.split() == ["5", "0.3", "2.0", "False"]
