"""`mlops sample-data`: the raw schema of docs/dataset.md, determinism, and a label a model can learn."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pandas as pd
import pytest
import xgboost as xgb
from sklearn.metrics import accuracy_score, roc_auc_score

from etl import transform
from mlops_component.tools import sample_data
from mlops_component.tools.cli import build_parser, main
from tests.dataset_doc import raw_schema


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> sample_data.SampleFiles:
    return sample_data.write_sample_data(tmp_path_factory.mktemp("sample"), 20_000, seed=7)


@pytest.fixture(scope="module")
def train(sample_files: sample_data.SampleFiles) -> pd.DataFrame:
    # Read back from the file, as the transform will, with every value as written.
    return pd.read_csv(sample_files.train)


def test_columns_are_the_documented_35_in_order(sample_files, train) -> None:
    documented = [c.name for c in raw_schema()]
    assert len(documented) == 35
    assert list(train.columns) == documented
    score = pd.read_csv(sample_files.score)
    assert list(score.columns) == [c for c in documented if c != "Attrition"]
    assert (sample_files.train_rows, sample_files.score_rows) == (20_000, 5_000)
    assert len(train) == 20_000 and len(score) == 5_000
    # The header is plain text, unquoted and without a byte order mark.
    assert sample_files.train.read_bytes().startswith(b"Age,Attrition,BusinessTravel,")


def test_values_and_ranges_match_the_document(train) -> None:
    for column in raw_schema():
        values = train[column.name]
        if column.kind in ("category", "label"):
            # A sample this size holds every documented value, and nothing else.
            assert set(values) == set(column.categories), column.name
        elif column.kind in ("integer", "ordinal"):
            low, high = column.bounds
            assert values.dtype.kind == "i", column.name
            assert values.min() >= low and values.max() <= high, column.name
            assert values.nunique() > 1, column.name
        elif column.kind == "constant":
            assert set(values.astype(str)) == {column.values}, column.name
        elif column.kind == "id":
            assert values.dtype.kind == "i" and values.min() > 0 and values.is_unique


def test_relationships_that_real_hr_data_has(train) -> None:
    assert (train.TotalWorkingYears <= train.Age - 18).all()
    assert (train.YearsAtCompany <= train.TotalWorkingYears).all()
    assert (train.YearsInCurrentRole <= train.YearsAtCompany).all()
    assert (train.YearsWithCurrManager <= train.YearsAtCompany).all()
    assert ((train.PerformanceRating == 4) == (train.PercentSalaryHike >= 20)).all()
    # Roles belong to their departments.
    sales_roles = set(train.JobRole[train.Department == "Sales"])
    assert sales_roles <= {"Manager", "Sales Executive", "Sales Representative"}
    # Income rises with job level.
    assert train.groupby("JobLevel").MonthlyIncome.median().is_monotonic_increasing


def test_about_16_percent_positive_and_driven_by_the_documented_factors(train) -> None:
    leaves = train.Attrition == "Yes"
    assert 0.14 <= leaves.mean() <= 0.18

    def rate(by: pd.Series) -> pd.Series:
        return leaves.groupby(by).mean()

    assert rate(train.OverTime)["Yes"] > 2 * rate(train.OverTime)["No"]
    assert rate(train.MaritalStatus)["Single"] > rate(train.MaritalStatus)["Married"]
    assert rate(train.JobLevel == 1)[True] > rate(train.JobLevel == 1)[False]
    assert rate(train.YearsAtCompany <= 2)[True] > rate(train.YearsAtCompany <= 2)[False]
    assert (
        rate(train.MonthlyIncome < train.MonthlyIncome.median())[True] > rate(train.MonthlyIncome >= 0).mean()
    )


def test_score_ids_do_not_repeat_train_ids(sample_files) -> None:
    train_ids = pd.read_csv(sample_files.train, usecols=["EmployeeNumber"]).EmployeeNumber
    score_ids = pd.read_csv(sample_files.score, usecols=["EmployeeNumber"]).EmployeeNumber
    assert score_ids.is_unique and not set(train_ids) & set(score_ids)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    def digest(folder: Path, seed: int) -> tuple[str, str]:
        files = sample_data.write_sample_data(folder, 500, seed=seed)
        return tuple(hashlib.sha256(p.read_bytes()).hexdigest() for p in (files.train, files.score))

    assert digest(tmp_path / "a", 1) == digest(tmp_path / "b", 1)
    assert digest(tmp_path / "c", 2) != digest(tmp_path / "a", 1)
    assert not list((tmp_path / "a").glob(".*partial"))


def test_a_model_on_the_transformed_data_clearly_beats_the_majority_class(sample_files) -> None:
    """The data the pipeline trains on: sample data through the real transform, then XGBoost."""
    extract = transform.transform_train(pd.read_csv(sample_files.train))
    labels = extract.pop("Attrition").to_numpy()
    features = extract.to_numpy(dtype=float)
    cut = int(len(labels) * 0.75)
    model = xgb.XGBClassifier(n_estimators=150, max_depth=3, learning_rate=0.1, n_jobs=1, random_state=0)
    model.fit(features[:cut], labels[:cut])
    probability = model.predict_proba(features[cut:])[:, 1]
    held_out = labels[cut:]
    majority = max(held_out.mean(), 1 - held_out.mean())
    accuracy = accuracy_score(held_out, probability > 0.5)
    assert accuracy >= majority + 0.03, (accuracy, majority)
    assert roc_auc_score(held_out, probability) >= 0.85


def test_generate_rejects_empty_requests() -> None:
    with pytest.raises(ValueError, match="rows must be at least 1"):
        sample_data.generate(0)
    with pytest.raises(ValueError, match="score rows must be at least 1"):
        sample_data.generate(10, score_rows=0)


def test_cli_writes_both_files(tmp_path: Path, capsys) -> None:
    out = tmp_path / "data"
    assert main(["sample-data", "--rows", "40", "--score-rows", "7", "--out", str(out), "--seed", "3"]) == 0
    assert len(pd.read_csv(out / "train.csv")) == 40
    assert len(pd.read_csv(out / "score.csv")) == 7
    printed = capsys.readouterr().out
    assert f"wrote {out / 'train.csv'} (40 rows, with Attrition)" in printed
    assert f"wrote {out / 'score.csv'} (7 rows, without Attrition)" in printed


def test_cli_defaults_are_the_library_defaults() -> None:
    args = build_parser().parse_args(["sample-data"])
    assert (args.rows, args.seed, args.out) == (sample_data.DEFAULT_ROWS, sample_data.DEFAULT_SEED, "data")


@pytest.mark.parametrize(("flag", "value"), [("--rows", "0"), ("--rows", "many"), ("--seed", "-1")])
def test_cli_rejects_bad_numbers(flag: str, value: str, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["sample-data", flag, value, "--out", str(tmp_path)])
    assert stopped.value.code == 2
    assert flag in capsys.readouterr().err


def test_cli_says_how_to_install_what_is_missing(monkeypatch, tmp_path: Path, capsys) -> None:
    # A None entry in sys.modules makes the import fail, as it does where the etl extra is not installed.
    monkeypatch.setitem(sys.modules, "mlops_component.tools.sample_data", None)
    assert main(["sample-data", "--out", str(tmp_path)]) == 1
    assert "pip install 'mlops-component[etl]'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_cli_reports_an_unwritable_folder(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["sample-data", "--rows", "5", "--out", str(blocker / "data")]) == 1
    assert f"cannot write to {blocker / 'data'}" in capsys.readouterr().err
