"""Synthetic employee-attrition data in the raw schema of `docs/dataset.md`: what `mlops sample-data` writes.

The rows are drawn from one seeded numpy generator, column by column (vectorised, so a million rows take a
second or two), with the dependencies real HR data has: tenure fits inside working years, which fit inside
age; income follows job level; job roles belong to departments; a rating of 4 comes with a hike of 20% or
more. Attrition is drawn from a logistic model of the drivers the public data shows (overtime, a low job
level, low income, being single, short tenure, frequent travel, low satisfaction), tuned so that about 16%
of rows are positive and a model clearly beats the majority class.

numpy, pandas and pyarrow are the `etl` extra; the CLI imports this module only when it is asked for data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

ID_COLUMN = "EmployeeNumber"
LABEL_COLUMN = "Attrition"

# The raw file's 35 columns, in order (docs/dataset.md).
COLUMNS: tuple[str, ...] = (
    "Age",
    "Attrition",
    "BusinessTravel",
    "DailyRate",
    "Department",
    "DistanceFromHome",
    "Education",
    "EducationField",
    "EmployeeCount",
    "EmployeeNumber",
    "EnvironmentSatisfaction",
    "Gender",
    "HourlyRate",
    "JobInvolvement",
    "JobLevel",
    "JobRole",
    "JobSatisfaction",
    "MaritalStatus",
    "MonthlyIncome",
    "MonthlyRate",
    "NumCompaniesWorked",
    "Over18",
    "OverTime",
    "PercentSalaryHike",
    "PerformanceRating",
    "RelationshipSatisfaction",
    "StandardHours",
    "StockOptionLevel",
    "TotalWorkingYears",
    "TrainingTimesLastYear",
    "WorkLifeBalance",
    "YearsAtCompany",
    "YearsInCurrentRole",
    "YearsSinceLastPromotion",
    "YearsWithCurrManager",
)

# Every text column's values, as docs/dataset.md lists them.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "Attrition": ("Yes", "No"),
    "BusinessTravel": ("Non-Travel", "Travel_Rarely", "Travel_Frequently"),
    "Department": ("Human Resources", "Research & Development", "Sales"),
    "EducationField": (
        "Human Resources",
        "Life Sciences",
        "Marketing",
        "Medical",
        "Other",
        "Technical Degree",
    ),
    "Gender": ("Female", "Male"),
    "JobRole": (
        "Healthcare Representative",
        "Human Resources",
        "Laboratory Technician",
        "Manager",
        "Manufacturing Director",
        "Research Director",
        "Research Scientist",
        "Sales Executive",
        "Sales Representative",
    ),
    "MaritalStatus": ("Divorced", "Married", "Single"),
    "Over18": ("Y",),
    "OverTime": ("No", "Yes"),
}

# Every integer column's inclusive range (constants have a range of one value). EmployeeNumber is only positive.
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "Age": (18, 60),
    "DailyRate": (102, 1499),
    "DistanceFromHome": (1, 29),
    "Education": (1, 5),
    "EmployeeCount": (1, 1),
    "EnvironmentSatisfaction": (1, 4),
    "HourlyRate": (30, 100),
    "JobInvolvement": (1, 4),
    "JobLevel": (1, 5),
    "JobSatisfaction": (1, 4),
    "MonthlyIncome": (1009, 19999),
    "MonthlyRate": (2094, 26999),
    "NumCompaniesWorked": (0, 9),
    "PercentSalaryHike": (11, 25),
    "PerformanceRating": (3, 4),
    "RelationshipSatisfaction": (1, 4),
    "StandardHours": (80, 80),
    "StockOptionLevel": (0, 3),
    "TotalWorkingYears": (0, 40),
    "TrainingTimesLastYear": (0, 6),
    "WorkLifeBalance": (1, 4),
    "YearsAtCompany": (0, 40),
    "YearsInCurrentRole": (0, 18),
    "YearsSinceLastPromotion": (0, 15),
    "YearsWithCurrManager": (0, 17),
}

DEFAULT_ROWS = 2000
"""What `mlops sample-data` (and `mlops local-run`) generate unless told otherwise: enough to train on in seconds."""
DEFAULT_SEED = 42
POSITIVE_RATE = 0.16
"""Share of rows with Attrition = Yes in the public data, which the label model is tuned to."""

# The label model's intercept, tuned (on a million rows) so that POSITIVE_RATE of rows are positive.
_INTERCEPT = -4.58
# How strongly the drivers decide the label: strong enough that a model clearly beats the majority class.
_STRENGTH = 1.6


@dataclass(frozen=True)
class SampleFiles:
    """Where `write_sample_data` put the two files, and how many rows each holds."""

    train: Path
    score: Path
    train_rows: int
    score_rows: int


def default_score_rows(rows: int) -> int:
    """The score file's size when none is given: a quarter of the training rows, at least one."""
    return max(1, rows // 4)


def generate(
    rows: int, score_rows: int | None = None, seed: int = DEFAULT_SEED
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A train frame (all 35 columns) and a score frame (no Attrition), drawn from one population.

    Deterministic for a given seed: the same arguments give the same frames, and so the same files.
    EmployeeNumber is unique across both frames.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1 (got {rows})")
    score_rows = default_score_rows(rows) if score_rows is None else score_rows
    if score_rows < 1:
        raise ValueError(f"score rows must be at least 1 (got {score_rows})")
    columns = _draw(np.random.default_rng(seed), rows + score_rows)
    frame = pd.DataFrame({name: columns[name] for name in COLUMNS})
    train = frame.iloc[:rows].reset_index(drop=True)
    score = frame.iloc[rows:].drop(columns=[LABEL_COLUMN]).reset_index(drop=True)
    return train, score


def write_sample_data(
    out_dir: str | Path,
    rows: int = DEFAULT_ROWS,
    *,
    score_rows: int | None = None,
    seed: int = DEFAULT_SEED,
) -> SampleFiles:
    """Write `train.csv` (with the label) and `score.csv` (without) into `out_dir`, creating it if needed.

    Each file is written under a temporary name and renamed into place, so a reader never sees half a file.
    """
    train, score = generate(rows, score_rows, seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "train.csv", out / "score.csv"
    for frame, path in zip((train, score), paths, strict=True):
        write_csv(frame, path)
    return SampleFiles(train=paths[0], score=paths[1], train_rows=len(train), score_rows=len(score))


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame` as plain CSV: an unquoted header, then unquoted values (none holds a comma or quote)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "wb") as sink:
        sink.write((",".join(frame.columns) + "\n").encode())
        pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    partial.replace(path)


# --- Drawing the columns -------------------------------------------------------------------------------------------


def _pick(rng: np.random.Generator, column: str, n: int, weights: list[float]) -> np.ndarray:
    """Category codes of `column`, drawn with `weights` (in CATEGORIES order)."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(CATEGORIES[column]), size=n, p=p / p.sum())


def _levels(rng: np.random.Generator, n: int, weights: list[float], low: int) -> np.ndarray:
    """Ordinal values low, low+1, ... drawn with `weights`."""
    p = np.asarray(weights, dtype=float)
    return low + rng.choice(len(p), size=n, p=p / p.sum())


def _text(column: str, codes: np.ndarray) -> np.ndarray:
    return np.asarray(CATEGORIES[column], dtype=object)[codes]


def _clip(column: str, values: np.ndarray) -> np.ndarray:
    low, high = INTEGER_RANGES[column]
    return np.clip(np.rint(values), low, high).astype(np.int64)


# Each department's roles, with their weights for junior staff (levels 1-3) and for senior staff (levels 4-5):
# managers and directors sit at the higher levels.
_ROLES_BY_DEPARTMENT: tuple[tuple[list[str], list[float], list[float]], ...] = (
    (["Human Resources", "Manager"], [0.95, 0.05], [0.3, 0.7]),
    (
        [
            "Healthcare Representative",
            "Laboratory Technician",
            "Manager",
            "Manufacturing Director",
            "Research Director",
            "Research Scientist",
        ],
        [0.12, 0.33, 0.0, 0.12, 0.0, 0.43],
        [0.2, 0.02, 0.35, 0.18, 0.23, 0.02],
    ),
    (["Manager", "Sales Executive", "Sales Representative"], [0.0, 0.7, 0.3], [0.45, 0.55, 0.0]),
)

Columns = dict[str, np.ndarray]


def _draw(rng: np.random.Generator, n: int) -> dict[str, Any]:
    """All 35 columns for `n` rows, with the label drawn last from the others.

    The helpers draw in a fixed order, so a seed always gives the same rows. Categorical columns are kept as
    codes (indexes into CATEGORIES) until the label has been drawn from them.
    """
    col = _careers(rng, n)
    col.update(_level_and_income(rng, n, col["TotalWorkingYears"]))
    codes = _department_role_field(rng, n, col["JobLevel"])
    col["Education"] = _levels(rng, n, [0.12, 0.19, 0.39, 0.27, 0.03], 1)
    personal, personal_codes = _personal(rng, n, col["Age"])
    col.update(personal)
    codes.update(personal_codes)
    col.update(_reviews_and_constants(rng, n))
    label = _label(rng, col, codes)
    columns: dict[str, Any] = {**col, **{name: _text(name, c) for name, c in codes.items()}}
    columns[LABEL_COLUMN] = label
    return columns


def _careers(rng: np.random.Generator, n: int) -> Columns:
    """Age bounds working years, which bound tenure, which bounds time in role and with the manager."""
    age = _clip("Age", rng.normal(37, 9, n))
    working = _clip("TotalWorkingYears", rng.binomial(age - 18, rng.beta(4, 3, n)))
    at_company = _clip("YearsAtCompany", rng.binomial(working, rng.beta(2.5, 1.8, n)))
    in_role = _clip("YearsInCurrentRole", rng.binomial(at_company, 0.6))
    since_promotion = _clip("YearsSinceLastPromotion", rng.binomial(at_company, 0.32))
    with_manager = _clip("YearsWithCurrManager", rng.binomial(at_company, 0.6))
    companies = np.where(working - at_company > 0, rng.binomial(9, np.clip(working / 30, 0.05, 0.9)), 0)
    return {
        "Age": age,
        "TotalWorkingYears": working,
        "YearsAtCompany": at_company,
        "YearsInCurrentRole": in_role,
        "YearsSinceLastPromotion": since_promotion,
        "YearsWithCurrManager": with_manager,
        "NumCompaniesWorked": _clip("NumCompaniesWorked", companies),
    }


def _level_and_income(rng: np.random.Generator, n: int, working: np.ndarray) -> Columns:
    """Level follows experience; income follows level."""
    level = _clip("JobLevel", 0.6 + working / 8.5 + rng.normal(0, 0.8, n))
    income_by_level = np.array([0, 2800, 5600, 10000, 15500, 19200])
    income = _clip("MonthlyIncome", income_by_level[level] * rng.lognormal(0, 0.2, n))
    return {"JobLevel": level, "MonthlyIncome": income}


def _department_role_field(rng: np.random.Generator, n: int, level: np.ndarray) -> Columns:
    """Codes of a department, then a role that exists in it at the row's level, then a field of education."""
    role = {name: i for i, name in enumerate(CATEGORIES["JobRole"])}
    department = _pick(rng, "Department", n, [0.04, 0.65, 0.31])
    senior = level >= 4
    hr, _, sales = (department == i for i in range(3))
    job_role = np.empty(n, dtype=np.int64)
    for index, (roles, junior_weights, senior_weights) in enumerate(_ROLES_BY_DEPARTMENT):
        codes = np.array([role[r] for r in roles])
        for is_senior, weights in ((False, junior_weights), (True, senior_weights)):
            picked = (department == index) & (senior == is_senior)
            p = np.asarray(weights) / np.sum(weights)
            job_role[picked] = codes[rng.choice(len(codes), size=int(picked.sum()), p=p)]
    field = np.where(
        hr,
        _pick(rng, "EducationField", n, [0.7, 0.1, 0.0, 0.1, 0.05, 0.05]),
        np.where(
            sales,
            _pick(rng, "EducationField", n, [0.0, 0.35, 0.3, 0.25, 0.05, 0.05]),
            _pick(rng, "EducationField", n, [0.0, 0.45, 0.0, 0.33, 0.07, 0.15]),
        ),
    )
    return {"Department": department, "JobRole": job_role, "EducationField": field}


def _personal(rng: np.random.Generator, n: int, age: np.ndarray) -> tuple[Columns, Columns]:
    """Personal details (numbers, codes): the young are more often single; single people rarely hold stock options."""
    marital = np.where(
        age < 30,
        _pick(rng, "MaritalStatus", n, [0.1, 0.35, 0.55]),
        _pick(rng, "MaritalStatus", n, [0.25, 0.5, 0.25]),
    )
    stock = np.where(marital == 2, 0, _levels(rng, n, [0.25, 0.55, 0.15, 0.05], 0))
    codes = {
        "MaritalStatus": marital,
        "BusinessTravel": _pick(rng, "BusinessTravel", n, [0.1, 0.71, 0.19]),
        "OverTime": _pick(rng, "OverTime", n, [0.72, 0.28]),
        "Gender": _pick(rng, "Gender", n, [0.4, 0.6]),
    }
    numbers = {
        "StockOptionLevel": stock,
        "DistanceFromHome": _clip("DistanceFromHome", 1 + rng.gamma(1.2, 7.5, n)),
    }
    return numbers, codes


def _reviews_and_constants(rng: np.random.Generator, n: int) -> Columns:
    """Pay reviews, satisfaction surveys, rates, and the columns that never vary."""
    # A rating of 4 comes with a hike of 20% or more, as in the public data.
    hike = _clip("PercentSalaryHike", 11 + rng.gamma(1.4, 2.6, n))
    col = {"PercentSalaryHike": hike, "PerformanceRating": np.where(hike >= 20, 4, 3)}
    satisfaction = [0.19, 0.19, 0.31, 0.31]
    for name in ("EnvironmentSatisfaction", "JobSatisfaction", "RelationshipSatisfaction"):
        col[name] = _levels(rng, n, satisfaction, 1)
    col.update(
        JobInvolvement=_levels(rng, n, [0.06, 0.26, 0.59, 0.09], 1),
        WorkLifeBalance=_levels(rng, n, [0.05, 0.23, 0.61, 0.11], 1),
        TrainingTimesLastYear=_levels(rng, n, [0.04, 0.05, 0.37, 0.33, 0.08, 0.08, 0.05], 0),
        DailyRate=rng.integers(102, 1500, n),
        HourlyRate=rng.integers(30, 101, n),
        MonthlyRate=rng.integers(2094, 27000, n),
        EmployeeCount=np.ones(n, dtype=np.int64),
        StandardHours=np.full(n, 80, dtype=np.int64),
        Over18=np.full(n, "Y", dtype=object),
        # Unique, increasing, with gaps, as staff numbers are.
        EmployeeNumber=np.cumsum(rng.integers(1, 4, n)),
    )
    return col


def _label(rng: np.random.Generator, col: Columns, codes: Columns) -> np.ndarray:
    """Attrition, drawn from a logistic model of the drivers in the public data."""
    at_company = col["YearsAtCompany"]
    drivers = (
        1.6 * codes["OverTime"]
        + 0.9 * (col["JobLevel"] == 1)
        - 0.9 * np.log(col["MonthlyIncome"] / 6500)
        + 0.9 * (codes["MaritalStatus"] == 2)
        - 0.12 * np.minimum(at_company, 10)
        + 0.6 * (at_company <= 1)
        + np.array([-0.5, 0.0, 0.7])[codes["BusinessTravel"]]
        - 0.35 * (col["JobSatisfaction"] - 2.5)
        - 0.3 * (col["EnvironmentSatisfaction"] - 2.5)
        - 0.35 * (col["JobInvolvement"] - 2.5)
        - 0.3 * (col["WorkLifeBalance"] - 2.5)
        + 0.5 * (col["Age"] < 30)
        + 0.03 * (col["DistanceFromHome"] - 9)
        + 0.35 * (col["NumCompaniesWorked"] >= 5)
        + 0.5 * (codes["JobRole"] == CATEGORIES["JobRole"].index("Sales Representative"))
    )
    logit = _INTERCEPT + _STRENGTH * drivers
    leaves = rng.random(len(drivers)) < 1 / (1 + np.exp(-logit))
    return np.where(leaves, "Yes", "No").astype(object)
