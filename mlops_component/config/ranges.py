"""Hyperparameter tuning ranges, in the shape of SageMaker's `ParameterRanges`, and the seed's defaults."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    Field,
    model_validator,
)

from mlops_component.config.base import PascalModel, ScalingType, parse_number


class _NumericRange(PascalModel):
    name: str = Field(description="Hyperparameter to tune.")
    min_value: str = Field(description="Lower bound (a number, passed to SageMaker as a string).")
    max_value: str = Field(description="Upper bound (a number, passed to SageMaker as a string).")
    scaling_type: ScalingType = Field(default="Auto", description="How SageMaker searches the range.")

    def _check_bounds(self, low: float, high: float) -> None:
        if low > high:
            raise ValueError(f"MinValue {self.min_value} is greater than MaxValue {self.max_value}")
        if self.scaling_type == "Logarithmic" and low <= 0:
            raise ValueError("Logarithmic scaling needs MinValue > 0")


class ContinuousParameterRange(_NumericRange):
    """A real-valued hyperparameter range."""

    @model_validator(mode="after")
    def _bounds(self) -> ContinuousParameterRange:
        low, high = parse_number(self.min_value, "MinValue"), parse_number(self.max_value, "MaxValue")
        self._check_bounds(low, high)
        if self.scaling_type == "ReverseLogarithmic" and not (low >= 0 and high < 1):
            raise ValueError("ReverseLogarithmic scaling needs 0 <= MinValue and MaxValue < 1")
        return self


class IntegerParameterRange(_NumericRange):
    """An integer hyperparameter range."""

    @model_validator(mode="after")
    def _bounds(self) -> IntegerParameterRange:
        low, high = parse_number(self.min_value, "MinValue"), parse_number(self.max_value, "MaxValue")
        if not (low.is_integer() and high.is_integer()):
            raise ValueError("integer ranges need whole-number MinValue and MaxValue")
        if self.scaling_type == "ReverseLogarithmic":
            raise ValueError("ReverseLogarithmic scaling is only valid for continuous ranges")
        self._check_bounds(low, high)
        return self


class CategoricalParameterRange(PascalModel):
    """A hyperparameter chosen from a list of values."""

    name: str = Field(description="Hyperparameter to tune.")
    values: Annotated[list[str], Field(min_length=1, max_length=30)] = Field(
        description="Candidate values (SageMaker allows up to 30)."
    )


class ParameterRanges(PascalModel):
    """Hyperparameter tuning ranges, in the shape of SageMaker's `ParameterRanges`."""

    continuous_parameter_ranges: list[ContinuousParameterRange] = Field(
        default_factory=list, description="Real-valued ranges."
    )
    integer_parameter_ranges: list[IntegerParameterRange] = Field(
        default_factory=list, description="Integer ranges."
    )
    categorical_parameter_ranges: list[CategoricalParameterRange] = Field(
        default_factory=list, description="Categorical ranges."
    )

    @model_validator(mode="after")
    def _names(self) -> ParameterRanges:
        names = self.names()
        if not names:
            raise ValueError("at least one range is needed for tuning")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"hyperparameters given more than one range: {duplicates}")
        return self

    def names(self) -> list[str]:
        """Every tuned hyperparameter's name."""
        ranges: list[_NumericRange | CategoricalParameterRange] = [
            *self.continuous_parameter_ranges,
            *self.integer_parameter_ranges,
            *self.categorical_parameter_ranges,
        ]
        return [r.name for r in ranges]

    def to_sagemaker(self) -> dict[str, list[dict[str, Any]]]:
        """The `ParameterRanges` document of CreateHyperParameterTuningJob."""
        return self.model_dump(by_alias=True)


def seed_parameter_ranges() -> ParameterRanges:
    # The seed module's default ranges, unchanged.
    auto = "Auto"
    return ParameterRanges(
        continuous_parameter_ranges=[
            ContinuousParameterRange(name="gamma", min_value="0", max_value="10", scaling_type=auto),
            ContinuousParameterRange(
                name="min_child_weight", min_value="1", max_value="20", scaling_type=auto
            ),
            ContinuousParameterRange(name="subsample", min_value="0.1", max_value="0.5", scaling_type=auto),
            ContinuousParameterRange(name="max_delta_step", min_value="0", max_value="1", scaling_type=auto),
            ContinuousParameterRange(
                name="scale_pos_weight", min_value="1", max_value="10", scaling_type=auto
            ),
        ],
        integer_parameter_ranges=[
            IntegerParameterRange(name="max_depth", min_value="1", max_value="10", scaling_type=auto),
        ],
    )
