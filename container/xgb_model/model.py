"""The trained model on disk, and the one object that predicts with it.

Training writes two files into the model folder (SageMaker tars the folder as model.tar.gz and untars it
into `/opt/ml/model` for serving):

- `model.json`: the booster in XGBoost's own JSON format (never pickle), feature names included;
- `columns.json`: `{"id": ..., "label": ..., "features": [...]}`, the same shape as the ETL's
  `schema/columns.json`, so a scorer knows the id column and the feature order without XGBoost.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xgb_model.jobs import JobError
from xgb_model.xgboost_runtime import xgboost as xgb

MODEL_FILE = "model.json"
COLUMNS_FILE = "columns.json"
_OBJECTIVE = "binary:logistic"
LOG = logging.getLogger("xgb_model.model")
# XGBoost's messages start with "[12:00:00] /path/of/source.cc:409: " and end with a native backtrace.
_XGBOOST_PREFIX = re.compile(r"^\[[\d:]+\] \S+:\d+: ")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])/[\w.+-]+(?:/[\w.+-]+)+")


class ModelLoadError(JobError):
    """The model folder does not hold a usable model; the message says what is missing or wrong."""


@dataclass(frozen=True)
class FeatureSchema:
    """The columns a request may carry: an optional id, then the features in training order."""

    names: tuple[str, ...]
    id_column: str | None = None

    @property
    def width(self) -> int:
        """Number of features."""
        return len(self.names)


def write_model(
    model_dir: Path,
    booster: xgb.Booster,
    *,
    feature_names: Sequence[str],
    id_column: str,
    label_column: str,
    extra_files: Mapping[str, bytes] | None = None,
) -> None:
    """Save the booster, its columns and `extra_files` (name: content, e.g. the quality report). Each file
    appears whole or not at all."""
    model_dir.mkdir(parents=True, exist_ok=True)
    columns = {"id": id_column, "label": label_column, "features": list(feature_names)}
    contents = {
        MODEL_FILE: bytes(booster.save_raw(raw_format="json")),
        COLUMNS_FILE: (json.dumps(columns, indent=2) + "\n").encode("utf-8"),
        **(extra_files or {}),
    }
    staged: list[tuple[str, Path]] = []
    try:
        for name, content in contents.items():
            fd, tmp = tempfile.mkstemp(dir=model_dir, prefix=f".{name}.")
            staged.append((tmp, model_dir / name))
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.chmod(tmp, 0o644)  # readable by the unprivileged user that serves the model
        for tmp, final in staged:
            os.replace(tmp, final)
    finally:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)


class Model:
    """A loaded booster and its feature schema. Loaded once per process; safe to share between threads."""

    def __init__(self, booster: xgb.Booster, schema: FeatureSchema) -> None:
        self.booster = booster
        self.schema = schema
        self._predict_dense = _DensePredictor(booster)

    @classmethod
    def load(cls, model_dir: Path, *, nthread: int = 1) -> Model:
        """Load `model.json` (and `columns.json` when present) from the model folder."""
        path = model_dir / MODEL_FILE
        if not path.is_file():
            found = sorted(p.name for p in model_dir.iterdir()) if model_dir.is_dir() else []
            raise ModelLoadError(f"the model folder has no {MODEL_FILE} (found: {found or 'nothing'})")
        booster = _load_booster(path)
        booster.set_param({"nthread": nthread})
        return cls(booster, _schema(model_dir, booster))

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The probability of class 1 for each row (float32; NaN features are missing values)."""
        if features.shape[0] == 0:
            return np.empty(0, dtype=np.float32)
        return self._predict_dense(features)

    def explain(self, features: np.ndarray) -> np.ndarray:
        """Per-feature contributions (XGBoost's SHAP values, in log-odds) plus the bias, one row per row."""
        names = list(self.schema.names)
        matrix = xgb.DMatrix(features, feature_names=names if self.booster.feature_names else None)
        return np.asarray(self.booster.predict(matrix, pred_contribs=True), dtype=np.float32)


def _load_booster(path: Path) -> xgb.Booster:
    """The booster in `path`; a file XGBoost cannot read is a ModelLoadError with a one-line reason.

    The message carries no path and no native backtrace (it reaches `/ping` and the job's failure reason);
    XGBoost's full message goes to the log.
    """
    booster = xgb.Booster()
    try:
        booster.load_model(str(path))
        objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
    except (xgb.core.XGBoostError, OSError, ValueError, KeyError, TypeError) as error:
        LOG.warning("XGBoost cannot load %s: %s", path, error)
        reason = _reason(error).replace(str(path), MODEL_FILE)
        raise ModelLoadError(f"{MODEL_FILE} is not a model XGBoost can load: {reason}") from None
    if objective != _OBJECTIVE:
        raise ModelLoadError(f"{MODEL_FILE} was trained with objective {objective!r}, not {_OBJECTIVE!r}")
    return booster


def _reason(error: Exception) -> str:
    """The first line of an error's message, without XGBoost's time and source-file prefix."""
    if isinstance(error, UnicodeDecodeError):
        return f"it is not UTF-8 JSON (byte {error.start})"
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    lines = str(error).strip().splitlines()
    first = _XGBOOST_PREFIX.sub("", lines[0]) if lines else ""
    return _ABSOLUTE_PATH.sub("<path>", first)[:200] or type(error).__name__


class _DensePredictor:
    """`Booster.inplace_predict` for a float32 matrix, straight through XGBoost's C API.

    The same C call (`XGBoosterPredictFromDense`) with the same arguments as `inplace_predict` makes for a
    dense numpy array, without the Python wrapper's dispatch over a dozen input types and its feature-count
    query: that dispatch was 100 of the 130 microseconds of a one-row prediction. The request decoder has
    already checked the width. A test compares the two on every input shape.
    """

    def __init__(self, booster: xgb.Booster) -> None:
        self._booster = booster  # owns the handle
        self._lib = xgb.core._LIB
        arguments = {
            "type": 0,  # probabilities, not margins
            "training": False,
            "iteration_begin": 0,
            "iteration_end": 0,
            "missing": float("nan"),
            "strict_shape": False,
            "cache_id": 0,
        }
        self._arguments = json.dumps(arguments).encode()

    def __call__(self, features: np.ndarray) -> np.ndarray:
        matrix = np.ascontiguousarray(features, dtype=np.float32)
        interface = {
            "data": (matrix.ctypes.data, True),
            "shape": matrix.shape,
            "strides": None,
            "typestr": "<f4",
            "version": 3,
        }
        shape = ctypes.POINTER(ctypes.c_uint64)()
        dims = ctypes.c_uint64()
        predictions = ctypes.POINTER(ctypes.c_float)()
        status = self._lib.XGBoosterPredictFromDense(
            self._booster.handle,
            json.dumps(interface).encode(),
            self._arguments,
            None,
            ctypes.byref(shape),
            ctypes.byref(dims),
            ctypes.byref(predictions),
        )
        if status != 0:
            raise xgb.core.XGBoostError(self._lib.XGBGetLastError().decode("utf-8", "replace"))
        count = int(np.prod([shape[i] for i in range(dims.value)]))
        # The buffer belongs to XGBoost and is reused by its next call: copy it out now.
        return np.ctypeslib.as_array(predictions, shape=(count,)).copy()


def _schema(model_dir: Path, booster: xgb.Booster) -> FeatureSchema:
    booster_names = tuple(booster.feature_names or ())
    columns_path = model_dir / COLUMNS_FILE
    if not columns_path.is_file():
        names = booster_names or tuple(f"f{i}" for i in range(booster.num_features()))
        return FeatureSchema(names=names)
    try:
        columns = json.loads(columns_path.read_text(encoding="utf-8"))
        names = tuple(str(n) for n in columns["features"])
        id_column = columns.get("id")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelLoadError(f"{COLUMNS_FILE} is not a columns file: {_reason(error)}") from None
    if booster_names and names != booster_names:
        raise ModelLoadError(f"{COLUMNS_FILE} lists different features from {MODEL_FILE}")
    if len(names) != booster.num_features():
        raise ModelLoadError(
            f"{COLUMNS_FILE} lists {len(names)} features; the model has {booster.num_features()}"
        )
    return FeatureSchema(names=names, id_column=str(id_column) if id_column is not None else None)
