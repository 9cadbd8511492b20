"""Synthetic data in the ETL's output layout (docs/data-contract.md), for the container's tests and benchmark.

43 features named and distributed like the example dataset's transform (docs/dataset.md): integers,
one-hot groups, two binaries and one ratio. The label is drawn from a logistic model of the factors the
dataset describes (overtime, low job level and income, being single, short tenure), tuned to about 16%
positives, so a model has something real to learn and a held-out ROC AUC well above 0.5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ID_COLUMN = "EmployeeNumber"
LABEL_COLUMN = "Attrition"
CONTINUOUS = [
    "Age", "DistanceFromHome", "MonthlyIncome", "PercentSalaryHike", "TrainingTimesLastYear",
    "RatioYearsPerCompany", "YearsAtCompany", "YearsInCurrentRole", "YearsSinceLastPromotion",
    "YearsWithCurrManager",
]  # fmt: skip
ORDINAL = {
    "BusinessTravel": (0, 2), "Education": (1, 5), "EnvironmentSatisfaction": (1, 4), "JobInvolvement": (1, 4),
    "JobLevel": (1, 5), "JobSatisfaction": (1, 4), "PerformanceRating": (3, 4),
    "RelationshipSatisfaction": (1, 4), "StockOptionLevel": (0, 3), "WorkLifeBalance": (1, 4),
}  # fmt: skip
ONE_HOT = {
    "Department": ["HumanResources", "ResearchDevelopment", "Sales"],
    "EducationField": ["HumanResources", "LifeSciences", "Marketing", "Medical", "Other", "TechnicalDegree"],
    "JobRole": [
        "HealthcareRepresentative", "HumanResources", "LaboratoryTechnician", "Manager",
        "ManufacturingDirector", "ResearchDirector", "ResearchScientist", "SalesExecutive",
        "SalesRepresentative",
    ],
    "MaritalStatus": ["Divorced", "Married", "Single"],
}  # fmt: skip
BINARY = ["Gender", "OverTime"]
FEATURES = [
    *CONTINUOUS,
    *ORDINAL,
    *(f"{group}_{value}" for group, values in ONE_HOT.items() for value in values),
    *BINARY,
]


def make_frame(rows: int, seed: int = 0, *, positive_rate: float = 0.16) -> pd.DataFrame:
    """`rows` labelled rows: id, label, then the 43 features in the ETL's order."""
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    age = rng.integers(18, 61, rows)
    total_years = np.minimum(age - 18, rng.integers(0, 41, rows))
    companies = rng.integers(0, 10, rows)
    years_at_company = np.minimum(total_years, rng.integers(0, 41, rows))
    job_level = rng.integers(1, 6, rows)
    columns["Age"] = age
    columns["DistanceFromHome"] = rng.integers(1, 30, rows)
    columns["MonthlyIncome"] = np.clip(job_level * 3500 + rng.normal(0, 1500, rows), 1009, 19999).astype(int)
    columns["PercentSalaryHike"] = rng.integers(11, 26, rows)
    columns["TrainingTimesLastYear"] = rng.integers(0, 7, rows)
    columns["RatioYearsPerCompany"] = np.round(total_years / (companies + 1), 4)
    columns["YearsAtCompany"] = years_at_company
    columns["YearsInCurrentRole"] = np.minimum(years_at_company, rng.integers(0, 19, rows))
    columns["YearsSinceLastPromotion"] = np.minimum(years_at_company, rng.integers(0, 16, rows))
    columns["YearsWithCurrManager"] = np.minimum(years_at_company, rng.integers(0, 18, rows))
    for name, (low, high) in ORDINAL.items():
        columns[name] = job_level if name == "JobLevel" else rng.integers(low, high + 1, rows)
    for group, values in ONE_HOT.items():
        chosen = rng.integers(0, len(values), rows)
        for index, value in enumerate(values):
            columns[f"{group}_{value}"] = (chosen == index).astype(int)
    columns["Gender"] = rng.integers(0, 2, rows)
    columns["OverTime"] = (rng.random(rows) < 0.28).astype(int)

    score = (
        1.6 * columns["OverTime"]
        - 0.45 * (job_level - 3)
        - 0.00012 * (columns["MonthlyIncome"] - 6500)
        + 0.9 * columns["MaritalStatus_Single"]
        - 0.12 * np.minimum(years_at_company, 10)
        - 0.3 * (columns["EnvironmentSatisfaction"] - 2.5)
    )
    # The intercept that gives the requested share of positives on average.
    intercept = _intercept(score, positive_rate)
    labels = (rng.random(rows) < 1.0 / (1.0 + np.exp(-(score + intercept)))).astype(int)

    frame = pd.DataFrame({name: columns[name] for name in FEATURES})
    frame.insert(0, LABEL_COLUMN, labels)
    frame.insert(0, ID_COLUMN, np.arange(1, rows + 1) * 7 + 1000)
    return frame


def _intercept(score: np.ndarray, rate: float) -> float:
    low, high = -20.0, 20.0
    for _ in range(60):
        middle = (low + high) / 2
        if np.mean(1.0 / (1.0 + np.exp(-(score + middle)))) < rate:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def write_train_csv(frame: pd.DataFrame, path: Path) -> Path:
    """The train layout: header, id, label, features."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def score_csv_text(frame: pd.DataFrame, *, header: bool = False, with_id: bool = True) -> str:
    """The score layout: no header by default, id then features (no label)."""
    columns = ([ID_COLUMN] if with_id else []) + FEATURES
    return frame[columns].to_csv(index=False, header=header)
