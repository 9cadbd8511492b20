"""The ETL's train parts (`--train_parts`, one per instance of a ShardedByS3Key channel) as the container reads
them: each part alone is a complete train channel, and the parts together are the single extract's rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from xgb_model.data import read_channel

from etl import transform
from mlops_component.tools import sample_data


@pytest.mark.parametrize("parts", [2, 3])
def test_each_train_part_is_a_channel_on_its_own_and_together_they_are_the_extract(
    tmp_path: Path, parts: int
) -> None:
    raw = sample_data.write_sample_data(tmp_path / "raw", 600, seed=5)
    written = transform.run_local(str(tmp_path / "out"), str(raw.train), layout="byo")
    single_folder = tmp_path / "single"
    single_folder.mkdir()
    shutil.copyfile(written[transform.TRAIN_KEY], single_folder / "train.csv")
    single = read_channel(single_folder, "train")

    shaped = transform.shape_extracts(
        written, layout="byo", score_parts=1, validation=False, train_parts=parts
    )
    keys = [transform.TRAIN_PART_KEY.format(n) for n in range(parts)]
    assert transform.TRAIN_KEY not in shaped and [k for k in shaped if k.startswith("train/")] == keys
    channels = []
    for number, key in enumerate(keys):
        host = tmp_path / f"algo-{number + 1}" / "train"  # what ShardedByS3Key leaves on one instance
        host.mkdir(parents=True)
        shutil.copyfile(shaped[key], host / Path(key).name)
        channels.append(read_channel(host, "train"))
    assert all(c.feature_names == single.feature_names and c.id_column == single.id_column for c in channels)
    assert sum(c.rows for c in channels) == single.rows
    assert max(c.positives for c in channels) - min(c.positives for c in channels) <= 1  # dealt per label
    # Every row once: the rows of all parts, sorted, are the single file's rows, sorted.
    rows = np.concatenate([np.column_stack([c.labels, c.features]) for c in channels])
    whole = np.column_stack([single.labels, single.features])
    order = np.lexsort(np.nan_to_num(rows, nan=-1.0).T)
    expected = np.lexsort(np.nan_to_num(whole, nan=-1.0).T)
    np.testing.assert_array_equal(rows[order], whole[expected])
