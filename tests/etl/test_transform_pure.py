"""The pure transform (`transform_train`, `transform_score`): docs/dataset.md's columns, encodings and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etl import transform
from etl.transform import FEATURES, TransformError, transform_score, transform_train
from tests.dataset_doc import feature_groups, raw_schema


def documented_features() -> list[str]:
    groups = feature_groups()
    categories = {c.name: c.categories for c in raw_schema() if c.kind == "category"}
    one_hot = [f"{column}_{value}" for column in groups["One-hot"] for value in categories[column]]
    return groups["Continuous"] + groups["Ordinal"] + one_hot + groups["Binary"]


def reference_transform(raw: pd.DataFrame, train: bool) -> pd.DataFrame:
    """docs/dataset.md's transform, written the plain pandas way, to check the fast one against."""
    df = raw.set_index("EmployeeNumber")
    df = df.assign(
        BusinessTravel=df.BusinessTravel.map({"Non-Travel": 0, "Travel_Rarely": 1, "Travel_Frequently": 2}),
        Gender=df.Gender.map({"Male": 0, "Female": 1}),
        OverTime=df.OverTime.map({"No": 0, "Yes": 1}),
        RatioYearsPerCompany=df.TotalWorkingYears / (df.NumCompaniesWorked + 1),
    )
    if train:
        df["Attrition"] = df.Attrition.map({"No": 0, "Yes": 1})
    dummies = pd.get_dummies(df[list(transform.ONE_HOT)], dtype=np.int8)
    df = df.join(dummies)
    return df[(["Attrition"] if train else []) + list(FEATURES)]


def test_features_are_docs_dataset_md_43_in_order() -> None:
    assert list(FEATURES) == documented_features()
    assert len(FEATURES) == 43
    # One-hot columns are named as pandas.get_dummies names them, so the seed's naming is kept.
    assert "Department_Research & Development" in FEATURES


def test_train_matches_the_reference_transform_on_generated_data(raw) -> None:
    frame = pd.read_csv(raw.train)
    ours = transform_train(frame)
    expected = reference_transform(frame, train=True)
    assert list(ours.columns) == ["Attrition", *FEATURES]
    assert ours.index.name == "EmployeeNumber"
    pd.testing.assert_frame_equal(ours, expected, check_dtype=False)


def test_score_matches_the_reference_transform_and_has_no_label(raw) -> None:
    frame = pd.read_csv(raw.score)
    ours = transform_score(frame)
    assert list(ours.columns) == list(FEATURES)
    pd.testing.assert_frame_equal(ours, reference_transform(frame, train=False), check_dtype=False)


def test_encodings_ratio_and_one_hot_on_known_rows(raw) -> None:
    frame = pd.read_csv(raw.train).head(3).copy()
    frame["EmployeeNumber"] = [7, 8, 9]
    frame["BusinessTravel"] = ["Non-Travel", "Travel_Rarely", "Travel_Frequently"]
    frame["Gender"] = ["Male", "Female", "Male"]
    frame["OverTime"] = ["Yes", "No", "No"]
    frame["Attrition"] = ["No", "Yes", "No"]
    frame["TotalWorkingYears"] = [10, 0, 7]
    frame["NumCompaniesWorked"] = [4, 0, 2]
    frame["Department"] = ["Sales", "Human Resources", "Research & Development"]
    out = transform_train(frame)
    assert list(out.index) == [7, 8, 9]
    assert list(out.BusinessTravel) == [0, 1, 2]
    assert list(out.Gender) == [0, 1, 0]
    assert list(out.OverTime) == [1, 0, 0]
    assert list(out.Attrition) == [0, 1, 0]
    assert list(out.RatioYearsPerCompany) == [2.0, 0.0, 7 / 3]
    department = out[["Department_Human Resources", "Department_Research & Development", "Department_Sales"]]
    assert department.to_numpy().tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0]]


def test_text_and_categorical_inputs_give_the_same_result(raw) -> None:
    text = pd.read_csv(raw.train, dtype={c: str for c in ("Department", "JobRole", "Gender")})
    categorical = text.astype({c: "category" for c in ("Department", "JobRole", "Gender", "OverTime")})
    pd.testing.assert_frame_equal(transform_train(text), transform_train(categorical))


def test_a_small_score_file_still_gets_every_training_column(raw) -> None:
    frame = pd.read_csv(raw.score).head(2).assign(Department="Sales", MaritalStatus="Single")
    out = transform_score(frame)
    assert list(out.columns) == list(FEATURES)
    assert out["Department_Human Resources"].tolist() == [0, 0]
    assert out["Department_Sales"].tolist() == [1, 1]
    assert out["MaritalStatus_Divorced"].tolist() == [0, 0]


def test_a_category_training_never_had_adds_no_column(raw) -> None:
    frame = pd.read_csv(raw.score).head(3)
    frame.loc[frame.index[0], "JobRole"] = "Data Scientist"
    out = transform_score(frame)
    assert list(out.columns) == list(FEATURES)
    assert not any("Data Scientist" in c for c in out.columns)
    roles = [c for c in FEATURES if c.startswith("JobRole_")]
    assert out[roles].sum(axis=1).tolist()[0] == 0  # the unknown role's row is zero across the group
    assert out[roles].sum(axis=1).tolist()[1:] == [1, 1]


def test_score_follows_a_persisted_feature_list_exactly(raw) -> None:
    """Scoring aligns to the training columns it is given, e.g. from an older schema/columns.json."""
    features = [f for f in FEATURES if f != "JobRole_Manager"][::-1]
    out = transform_score(pd.read_csv(raw.score), features)
    assert list(out.columns) == features


def test_missing_columns_are_all_named(raw) -> None:
    frame = pd.read_csv(raw.train).drop(columns=["Age", "JobRole", "Attrition"])
    with pytest.raises(TransformError, match="missing required columns: Age, JobRole, Attrition"):
        transform_train(frame)
    score = pd.read_csv(raw.score).drop(columns=["OverTime"])
    with pytest.raises(TransformError, match="missing required columns: OverTime"):
        transform_score(score)


def test_unused_raw_columns_are_not_required(raw) -> None:
    unused = ["DailyRate", "HourlyRate", "MonthlyRate", "EmployeeCount", "Over18", "StandardHours"]
    frame = pd.read_csv(raw.train)
    pd.testing.assert_frame_equal(transform_train(frame.drop(columns=unused)), transform_train(frame))


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("Gender", "Other", r"Gender must be one of \['Male', 'Female'\]; found \['Other'\] in 1 row"),
        ("OverTime", None, r"OverTime must be one of \['No', 'Yes'\]; found \['<empty>'\] in 1 row"),
        ("Attrition", "Maybe", r"Attrition must be one of \['No', 'Yes'\]; found \['Maybe'\]"),
        ("BusinessTravel", "Travel_Always", r"BusinessTravel must be one of"),
        ("JobRole", "Data Scientist", r"known categories .*JobRole: \['Data Scientist'\] in 1 row"),
        ("Age", "forty", r"Age must hold whole numbers; found \['forty'\] in 1 row"),
        ("Age", 40.5, r"Age must hold whole numbers; found \['40.5'\]"),
        ("Age", None, r"Age is empty in 1 row\(s\) \(e.g. EmployeeNumber \[\d+\]\)"),
        ("NumCompaniesWorked", -1, r"NumCompaniesWorked must be from 0 to 9; found \[-1\] in rows \[3\]$"),
        ("EmployeeNumber", None, r"EmployeeNumber is empty in 1 row\(s\)$"),
    ],
)
def test_bad_values_name_the_column_and_the_value(raw, column: str, value: object, message: str) -> None:
    frame = pd.read_csv(raw.train).head(5).astype({column: object})
    frame.loc[frame.index[2], column] = value
    with pytest.raises(TransformError, match=message):
        transform_train(frame)


@pytest.mark.parametrize(
    ("column", "value", "domain"),
    [
        ("Age", -3, "from 18 to 60"),
        ("Age", 61, "from 18 to 60"),
        ("Education", 99, "from 1 to 5"),
        ("Education", 0, "from 1 to 5"),
        ("EmployeeNumber", 0, "at least 1"),
        ("EmployeeNumber", -7, "at least 1"),
        ("MonthlyIncome", 20000, "from 1009 to 19999"),
        ("PerformanceRating", 2, "from 3 to 4"),
        ("YearsWithCurrManager", 18, "from 0 to 17"),
    ],
)
@pytest.mark.parametrize("kind", ["train", "score"])
def test_values_outside_the_documented_domain_name_column_and_rows(
    raw, column: str, value: int, domain: str, kind: str
) -> None:
    frame = pd.read_csv(raw.train if kind == "train" else raw.score).head(20)
    frame.loc[[4, 11], column] = value
    with pytest.raises(TransformError) as raised:
        transform_train(frame) if kind == "train" else transform_score(frame)
    assert str(raised.value) == (
        f"values outside the domains of docs/dataset.md: {column} must be {domain}; found [{value}] in rows "
        "[5, 12]"
    )


def test_whole_numbers_held_as_floats_or_text_give_the_integer_output(raw) -> None:
    frame = pd.read_csv(raw.train).head(20)
    expected = transform_train(frame)
    other = frame.astype({"Age": float, "MonthlyIncome": str, transform.ID: float, "Education": np.int8})
    pd.testing.assert_frame_equal(transform_train(other), expected)


def test_a_missing_value_in_a_nullable_integer_column_is_refused(raw) -> None:
    frame = pd.read_csv(raw.train).head(5).astype({"Age": "Int64"})
    frame.loc[2, "Age"] = pd.NA
    with pytest.raises(TransformError, match=r"^Age is empty in 1 row\(s\)"):
        transform_train(frame)


@pytest.mark.parametrize(("bad_rows", "more"), [(5, ""), (6, " and more")])
def test_and_more_is_said_only_past_five_rows(raw, bad_rows: int, more: str) -> None:
    frame = pd.read_csv(raw.train).head(20)
    frame.loc[list(range(bad_rows)), "Age"] = 200
    with pytest.raises(TransformError) as raised:
        transform_train(frame)
    assert str(raised.value).endswith(f"found [200] in rows [1, 2, 3, 4, 5]{more}")


@pytest.mark.parametrize("column", ["BusinessTravel", "Attrition", "Department"])
def test_a_missing_value_in_a_categorical_column_is_refused(raw, column: str) -> None:
    # A caller's own frame may hold text columns as pandas categoricals, where a missing value has no category.
    frame = pd.read_csv(raw.train).head(5).astype({column: "category"})
    frame.loc[2, column] = np.nan
    with pytest.raises(TransformError, match=f"{column}.*\\['<empty>'\\] in 1 row\\(s\\)"):
        transform_train(frame)


@pytest.mark.parametrize(
    ("column", "low", "high"),
    [(c.name, *c.bounds) for c in raw_schema() if c.name in transform.INTEGER_INPUTS],
)
def test_each_documented_bound_is_accepted_and_the_value_past_it_refused(
    raw, column: str, low: int, high: int
) -> None:
    frame = pd.read_csv(raw.train).head(4)
    frame.loc[[0, 1], column] = [low, high]
    transform_train(frame)
    frame.loc[[0, 1], column] = [low - 1, high + 1]
    with pytest.raises(TransformError) as raised:
        transform_train(frame)
    assert str(raised.value) == (
        f"values outside the domains of docs/dataset.md: {column} must be from {low} to {high}; "
        f"found [{low - 1}, {high + 1}] in rows [1, 2]"
    )


def test_every_column_outside_its_domain_is_named_at_once(raw) -> None:
    frame = pd.read_csv(raw.train).head(20)
    frame.loc[3, "Age"] = 200
    frame.loc[list(range(10, 20)), "Education"] = 6
    with pytest.raises(TransformError) as raised:
        transform_train(frame)
    assert str(raised.value) == (
        "values outside the domains of docs/dataset.md: Age must be from 18 to 60; found [200] in rows [4]; "
        "Education must be from 1 to 5; found [6] in rows [11, 12, 13, 14, 15] and more"
    )


def test_the_domains_are_docs_dataset_md_s() -> None:
    documented = {c.name: c for c in raw_schema()}
    for name, (low, high) in transform.DOMAINS.items():
        if documented[name].kind == "id":
            assert (low, high, documented[name].values) == (1, None, "unique positive integer")
        else:
            assert documented[name].kind in ("integer", "ordinal"), name
            assert (low, high) == documented[name].bounds, name
    # Every integer column the transform reads has its domain, and nothing else does.
    assert set(transform.DOMAINS) == {transform.ID, *transform.INTEGER_INPUTS}


def test_feature_lists_are_checked() -> None:
    with pytest.raises(TransformError, match="does not compute: \\['Salary'\\]"):
        transform.check_features([*FEATURES, "Salary"])
    with pytest.raises(TransformError, match="repeats columns: \\['Age'\\]"):
        transform.check_features([*FEATURES, "Age"])
    with pytest.raises(TransformError, match="empty"):
        transform.check_features([])
