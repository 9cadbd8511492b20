"""The `batch-predict` program: every CSV file of an input folder scored into an output folder.

Meant for a SageMaker Processing job (see issue 6): the inputs are score files in the ETL's layout (an id
column, then the features; a header is optional), the model is the training job's `model.tar.gz` (or an
unpacked model folder), and each output file holds `<id>,<probability>` lines, the same shape Batch
Transform's join produces. Files are read in slices of lines, so their size is not bounded by memory, and
decoded by the same parser as `/invocations`.

The outputs appear together at the end; on any failure none of them does, and the reason goes to
`/opt/ml/output/message` (the processing job's ExitMessage).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from xgb_model import payload
from xgb_model.archives import UnsafeArchiveError, extract_archive
from xgb_model.jobs import JobError, run_job
from xgb_model.model import MODEL_FILE, Model
from xgb_model.paths import MlPaths
from xgb_model.payload import PayloadError

LINES_PER_SLICE = 50_000
_STAGING = ".batch-predict-partial"


@contextlib.contextmanager
def model_folder(path: Path) -> Iterator[Path]:
    """A folder holding `model.json`: `path` itself, or `model.tar.gz` (given, or inside `path`) unpacked."""
    if path.is_dir() and (path / MODEL_FILE).is_file():
        yield path
        return
    archives = sorted(path.glob("*.tar.gz")) if path.is_dir() else [path] if path.is_file() else []
    if len(archives) != 1:
        raise JobError(f"{path} holds neither {MODEL_FILE} nor exactly one model .tar.gz")
    with tempfile.TemporaryDirectory(prefix="model-") as unpacked:
        try:
            extract_archive(archives[0], Path(unpacked))  # refuses members that would land outside
        except (
            tarfile.TarError,
            OSError,
            EOFError,
            zlib.error,
            UnsafeArchiveError,
        ) as error:  # EOFError: a truncated gzip
            raise JobError(f"cannot unpack {archives[0]}: {error}") from None
        yield Path(unpacked)


def score_file(model: Model, source: Path, target: Path, *, lines_per_slice: int = LINES_PER_SLICE) -> int:
    """Score one CSV file into `target`; return the number of rows."""
    rows = 0
    with source.open("rb") as reader, target.open("w", encoding="utf-8") as writer:
        for index in itertools.count():
            lines = list(itertools.islice(reader, lines_per_slice))
            if not lines:
                break
            chunk = b"".join(lines)
            if not chunk.strip():
                continue
            try:
                decoded = payload.parse_csv(
                    chunk,
                    model.schema,
                    keep_ids=True,
                    allow_header=index == 0,
                    line_offset=index * lines_per_slice,
                )
            except PayloadError as error:
                raise JobError(f"{source.name}: {error}") from None
            if decoded.ids is None:
                raise JobError(
                    f"{source.name}: rows hold only the {model.schema.width} features; batch-predict needs the "
                    "id column first"
                )
            writer.write(payload.format_id_csv(decoded.ids, model.predict(decoded.features)))
            rows += len(decoded.ids)
    if rows == 0:
        raise JobError(f"{source.name} has no data rows")
    return rows


def predict_folder(model_path: Path, input_dir: Path, output_dir: Path) -> dict[str, int]:
    """Score every `*.csv` under `input_dir` into the same relative path under `output_dir`."""
    _check_apart(input_dir, output_dir)
    sources = sorted(p for p in input_dir.rglob("*.csv") if p.is_file()) if input_dir.is_dir() else []
    if not sources:
        raise JobError(f"no .csv files to score in {input_dir}")
    staging = output_dir / _STAGING
    shutil.rmtree(staging, ignore_errors=True)
    counts: dict[str, int] = {}
    try:
        with model_folder(model_path) as folder:
            model = Model.load(folder, nthread=os.cpu_count() or 1)
        for source in sources:
            relative = source.relative_to(input_dir)
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            counts[str(relative)] = score_file(model, source, staging / relative)
            print(f"batch-predict: {relative} rows={counts[str(relative)]}", flush=True)
        for relative_name in counts:
            final = output_dir / relative_name
            final.parent.mkdir(parents=True, exist_ok=True)
            (staging / relative_name).replace(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counts


def _check_apart(input_dir: Path, output_dir: Path) -> None:
    """Refuse an output folder that is the input folder, inside it, or holds it (links resolved).

    The same folder would have its score files replaced by predictions; nested folders would score the
    previous predictions, or write into the input's subfolders.
    """
    source, target = input_dir.resolve(), output_dir.resolve()
    if source == target or source in target.parents or target in source.parents:
        raise JobError(
            f"--input {input_dir} and --output {output_dir} overlap: the predictions would replace or mix with "
            "the files scored; give an output folder outside the input folder"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `batch-predict` program."""
    paths = MlPaths.from_env()
    parser = argparse.ArgumentParser(prog="batch-predict", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, default=paths.processing("input"), help="folder of CSV files")
    parser.add_argument("--output", type=Path, default=paths.processing("output"), help="predictions folder")
    parser.add_argument(
        "--model", type=Path, default=paths.processing("model"), help="model folder or model.tar.gz"
    )
    args = parser.parse_args(argv)
    return run_job(
        lambda: _report(predict_folder(args.model, args.input, args.output)),
        paths.processing_message_file,
        program="batch-predict",
    )


def _report(counts: dict[str, int]) -> None:
    print(f"batch-predict: scored {sum(counts.values())} rows in {len(counts)} file(s)", flush=True)
