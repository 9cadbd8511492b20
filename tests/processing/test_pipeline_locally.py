"""The three jobs end to end on one machine, each as the process its Processing job runs, in the folders the
state machine gives it: preprocess.py -> the container's batch-predict (with a model the container's `train`
program trained) -> postprocess.py. Also: the scripts keep to what the SageMaker scikit-learn image has."""

from __future__ import annotations

import ast
import json
import os
import shutil
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import transform

from mlops_component.builders.state_machines import processing_pipeline as wf
from mlops_component.components.processing_pipeline import code_files
from tests.container.conftest import CONTAINER_DIR
from tests.processing.conftest import run_script
from tests.python_source import top_level_imports
from tests.workflows.test_processing_workflow import RESOURCES

SCRIPTS = ("preprocess.py", "postprocess.py", "processing_job.py")
# What the SageMaker scikit-learn image (1.2-1: Python 3.9, pandas 1.1, numpy 1.24, pyarrow 14) provides, the
# standard library, and the modules the code location holds.
ALLOWED_IMPORTS = (
    {"numpy", "pandas", "pyarrow"} | set(sys.stdlib_module_names) | {"transform", "processing_job"}
)


def in_root(container_path: str, root: Path) -> Path:
    """Where a path of the job's container (`/opt/ml/...`) is when `/opt/ml` is `root`."""
    return root / Path(container_path).relative_to("/opt/ml")


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_are_python_3_9_and_import_only_what_the_image_has(script: str) -> None:
    tree = ast.parse(code_files()[script].read_text(), feature_version=(3, 9))
    assert top_level_imports(tree) - ALLOWED_IMPORTS == set()


def train_model(raw_train: Path, work: Path) -> Path:
    """A model from the container's own `train` program, packed as a training job's model.tar.gz."""
    extracts = transform.run_local(str(work / "extracts"), str(raw_train))
    root = work / "training"
    channel = root / "input" / "data" / "train"
    channel.mkdir(parents=True)
    shutil.copyfile(extracts[transform.TRAIN_KEY], channel / "train.csv")
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({"num_round": "40", "kfold_splits": "2"})
    )
    done = run_script(sys.executable, CONTAINER_DIR / "train", root, cwd=CONTAINER_DIR)
    assert done.returncode == 0, done.stderr
    archive = work / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as packed:  # the layout SageMaker uploads
        for path in (root / "model").iterdir():
            packed.add(path, arcname=path.name)
    return archive


class Job:
    """One Task of the state machine, read from its Parameters: where its inputs go, what it runs."""

    def __init__(self, definition: dict, job: wf.Job, root: Path) -> None:
        params = definition["States"][job.state]["Parameters"]
        self.root = root
        self.inputs = {
            i["InputName"]: in_root(i["S3Input"]["LocalPath"], root) for i in params["ProcessingInputs"]
        }
        self.output = in_root(params["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["LocalPath"], root)
        app = params["AppSpecification"]
        self.command = [*app["ContainerEntrypoint"], *app.get("ContainerArguments", [])]

    def stage(self, name: str, source: Path) -> None:
        """Put an input where SageMaker downloads it (a folder's content, or one file into the folder)."""
        if source.is_dir():
            shutil.copytree(source, self.inputs[name])
        else:
            self.inputs[name].mkdir(parents=True)
            shutil.copyfile(source, self.inputs[name] / source.name)

    def run(self) -> Path:
        """The job's entrypoint and arguments, with this machine's Python; returns its output folder."""
        if self.command[0] == "python3":  # a script from the code location
            script, args, cwd = in_root(self.command[1], self.root), self.command[2:], self.root
        else:  # the image's batch-predict, from the container folder the image is built from
            assert self.command[0] == wf.BATCH_PREDICT
            script, args, cwd = CONTAINER_DIR / "batch-predict", self.command[1:], CONTAINER_DIR
        done = run_script(sys.executable, script, self.root, *args, cwd=cwd)
        assert done.returncode == 0, (self.command, done.stderr)
        return self.output


@pytest.mark.slow
def test_raw_data_to_report_through_the_three_jobs(make_config, raw, code_dir: Path, tmp_path: Path) -> None:
    definition = wf.processing_definition(make_config(enable_processing_pipeline=True), RESOURCES)
    model = train_model(raw.train, tmp_path)
    landed = tmp_path / "landed"
    landed.mkdir()
    shutil.copyfile(raw.score, landed / "score.csv")

    pre = Job(definition, wf.PREPROCESSING, tmp_path / "pre")
    pre.stage("data", landed)
    pre.stage("code", code_dir)
    preprocessed = pre.run()

    inference = Job(definition, wf.INFERENCE, tmp_path / "inference")
    inference.stage("data", preprocessed)
    inference.stage("model", model)
    predictions = inference.run()

    post = Job(definition, wf.POSTPROCESSING, tmp_path / "post")
    post.stage("data", predictions)
    post.stage("code", code_dir)
    report_dir = post.run()

    # Every raw row comes back once, under its own id, with the model's probability for its features.
    table = pd.read_csv(report_dir / "predictions.csv")
    ids = pd.read_csv(raw.score, usecols=["EmployeeNumber"])["EmployeeNumber"]
    assert table["EmployeeNumber"].tolist() == ids.tolist()
    sys.path.insert(0, str(CONTAINER_DIR))
    from xgb_model.archives import extract_archive
    from xgb_model.model import Model

    extract_archive(model, tmp_path / "unpacked")
    features = pd.read_csv(preprocessed / "score.csv", header=None).iloc[:, 1:].to_numpy(np.float32)
    expected = Model.load(tmp_path / "unpacked", nthread=1).predict(features)
    assert table["probability"].to_numpy() == pytest.approx(expected, rel=1e-6, abs=1e-7)
    assert table["predicted_label"].tolist() == (table["probability"] >= 0.5).astype(int).tolist()

    report = json.loads((report_dir / "report.json").read_text())
    assert report["rows"] == 500 and report["files"] == {"score.csv": 500}
    assert report["threshold"] == 0.5  # the state machine's ContainerArguments
    assert 0 < report["predicted_positive"] < 500  # the sample data's attrition is learnable, not constant
    assert report["probability"]["min"] <= report["probability"]["p50"] <= report["probability"]["max"]


SKLEARN_PYTHON = os.environ.get("MLOPS_SKLEARN_PYTHON")


@pytest.mark.slow
@pytest.mark.skipif(
    not SKLEARN_PYTHON,
    reason="set MLOPS_SKLEARN_PYTHON to a Python 3.9 with the scikit-learn image's pandas, numpy and pyarrow",
)
def test_the_scikit_learn_images_versions_give_the_same_bytes(raw, code_dir: Path, tmp_path: Path) -> None:
    """Both scripts under the image's library versions, compared byte for byte with this interpreter's output.

    E.g. `python3.9 -m venv` and `pip install pandas==1.1.3 numpy==1.24.1 pyarrow==14.0.1`, the versions of
    `sagemaker-scikit-learn:1.2-1-cpu-py3`.
    """
    assert SKLEARN_PYTHON
    (tmp_path / "in").mkdir()
    shutil.copyfile(raw.score, tmp_path / "in" / "score.csv")
    outputs = {}
    for name, python in [("here", sys.executable), ("image", SKLEARN_PYTHON)]:
        pre = run_script(
            python,
            code_dir / "preprocess.py",
            tmp_path / name,
            "--input",
            str(tmp_path / "in"),
            "--output",
            str(tmp_path / name / "pre"),
        )
        assert pre.returncode == 0, pre.stderr
        outputs[name] = tmp_path / name
    predictions = tmp_path / "predictions"
    predictions.mkdir()
    scored = pd.read_csv(tmp_path / "here" / "pre" / "score.csv", header=None)
    probability = np.random.default_rng(3).beta(0.6, 2.5, size=len(scored))
    (predictions / "score.csv").write_text(
        "".join(f"{i},{p:.7g}\n" for i, p in zip(scored[0], probability, strict=True))
    )
    for name, python in [("here", sys.executable), ("image", SKLEARN_PYTHON)]:
        post = run_script(
            python,
            code_dir / "postprocess.py",
            tmp_path / name,
            "--input",
            str(predictions),
            "--output",
            str(tmp_path / name / "post"),
        )
        assert post.returncode == 0, post.stderr
    for relative in ["pre/score.csv", "post/predictions.csv", "post/report.json", "post/report.md"]:
        assert (outputs["image"] / relative).read_bytes() == (outputs["here"] / relative).read_bytes(), (
            relative
        )
