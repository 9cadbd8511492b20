"""The scoring application through Flask's test client: every route, content type and error."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xgb_model.app import CUSTOM_ATTRIBUTES_HEADER, create_app
from xgb_model.model import Model
from xgb_model.paths import MlPaths
from xgb_model.settings import ServingSettings

from tests.container.synthetic import FEATURES, ID_COLUMN, score_csv_text

SETTINGS = ServingSettings(workers=2, timeout_s=60, max_payload_mb=1, cpu_count=2)
CSV = {"Content-Type": "text/csv"}
JSON = {"Content-Type": "application/json"}
# What a request may get besides a result: every other status would be a fault of the server.
CLIENT_ERRORS = {400, 406, 413, 415}


@pytest.fixture(scope="module")
def client(trained_root: MlPaths) -> FlaskClient:
    return create_app(trained_root.model_dir, SETTINGS).test_client()


def probabilities_of(response) -> list[float]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [float(line) for line in response.get_data(as_text=True).splitlines()]


def expected(model: Model, frame: pd.DataFrame) -> np.ndarray:
    return model.predict(frame[FEATURES].to_numpy(np.float32))


def test_ping_answers_once_the_model_is_loaded(client: FlaskClient, tmp_path: Path) -> None:
    assert client.get("/ping").status_code == 200
    broken = create_app(tmp_path, SETTINGS).test_client()
    response = broken.get("/ping")
    assert response.status_code == 503
    assert "model not loaded: the model folder has no model.json (found: nothing)" in response.get_data(
        as_text=True
    )
    assert broken.post("/invocations", data="1", headers=CSV).status_code == 503


@pytest.mark.parametrize(("header", "with_id"), [(False, True), (False, False), (True, True), (True, False)])
def test_csv_batch_gives_one_probability_per_row_in_order(
    client: FlaskClient, model: Model, holdout_frame: pd.DataFrame, header: bool, with_id: bool
) -> None:
    frame = holdout_frame.iloc[:500]
    response = client.post(
        "/invocations", data=score_csv_text(frame, header=header, with_id=with_id), headers=CSV
    )
    assert response.mimetype == "text/csv"
    assert probabilities_of(response) == pytest.approx(expected(model, frame).tolist(), rel=1e-6)


def test_a_single_row_is_scored(client: FlaskClient, model: Model, holdout_frame: pd.DataFrame) -> None:
    row = holdout_frame.iloc[[7]]
    body = score_csv_text(row).strip()  # one line, no trailing newline: what InvokeEndpoint often sends
    assert probabilities_of(client.post("/invocations", data=body, headers=CSV)) == pytest.approx(
        expected(model, row).tolist(), rel=1e-6
    )


def test_header_columns_in_another_order_are_put_back(
    client: FlaskClient, model: Model, holdout_frame: pd.DataFrame
) -> None:
    frame = holdout_frame.iloc[:20]
    shuffled = [ID_COLUMN, *reversed(FEATURES)]
    response = client.post("/invocations", data=frame[shuffled].to_csv(index=False), headers=CSV)
    assert probabilities_of(response) == pytest.approx(expected(model, frame).tolist(), rel=1e-6)


def test_explanations_only_on_request(client: FlaskClient, model: Model, holdout_frame: pd.DataFrame) -> None:
    frame = holdout_frame.iloc[:50]
    body = score_csv_text(frame)
    plain = client.post("/invocations", data=body, headers=CSV).get_data(as_text=True).splitlines()
    assert all("," not in line for line in plain)  # off by default

    for response in (
        client.post(
            "/invocations", data=body, headers={**CSV, CUSTOM_ATTRIBUTES_HEADER: "trace=abc,explain=true"}
        ),
        client.post("/invocations?explain=1", data=body, headers=CSV),
    ):
        assert response.status_code == 200
        rows = [[float(v) for v in line.split(",")] for line in response.get_data(as_text=True).splitlines()]
        assert len(rows) == len(frame) and all(len(row) == 1 + len(FEATURES) + 1 for row in rows)
        table = np.array(rows)
        assert table[:, 0] == pytest.approx([float(v) for v in plain], rel=1e-6)
        # SHAP values add up: contributions plus bias is the log-odds of the probability.
        log_odds = np.log(table[:, 0] / (1 - table[:, 0]))
        assert table[:, 1:].sum(axis=1) == pytest.approx(log_odds, abs=1e-3)

    off = client.post("/invocations", data=body, headers={**CSV, CUSTOM_ATTRIBUTES_HEADER: "explain=false"})
    assert off.get_data(as_text=True).splitlines() == plain
    bad = client.post("/invocations?explain=maybe", data=body, headers=CSV)
    assert bad.status_code == 400 and "explain='maybe' is not true or false" in bad.get_data(as_text=True)


def test_json_in_and_out(client: FlaskClient, model: Model, holdout_frame: pd.DataFrame) -> None:
    frame = holdout_frame.iloc[:10]
    instances = frame[FEATURES].to_dict(orient="records")
    response = client.post("/invocations", json={"instances": instances})
    assert response.mimetype == "application/json"
    assert response.get_json()["predictions"] == pytest.approx(expected(model, frame).tolist(), rel=1e-6)

    explained = client.post("/invocations?explain=true", json=frame[FEATURES].to_numpy().tolist()).get_json()
    assert explained["contribution_names"] == [*FEATURES, "bias"]
    assert np.array(explained["contributions"]).shape == (10, len(FEATURES) + 1)


def test_accept_header_chooses_the_response_type(client: FlaskClient, holdout_frame: pd.DataFrame) -> None:
    body = score_csv_text(holdout_frame.iloc[:3])
    as_json = client.post("/invocations", data=body, headers={**CSV, "Accept": "application/json"})
    assert as_json.mimetype == "application/json" and len(as_json.get_json()["predictions"]) == 3
    as_csv = client.post("/invocations", data=body, headers={**CSV, "Accept": "*/*"})
    assert as_csv.mimetype == "text/csv"
    refused = client.post("/invocations", data=body, headers={**CSV, "Accept": "application/x-protobuf"})
    assert refused.status_code == 406


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        ({"Content-Type": "text/plain"}, "1,2", 415, "unsupported content type 'text/plain'"),
        ({}, "1,2", 415, "unsupported content type '(none)'"),
        ({"Content-Type": "text/csv; charset=latin-1"}, "1,2", 415, "unsupported charset 'latin-1'"),
        (CSV, "", 400, "the body holds no rows"),
        (CSV, "1,2,3\n", 400, "line 1 has 3 columns; expected 43 features, or an id followed by 43 features"),
        (CSV, ",".join(["1"] * 43) + "\n" + ",".join(["1"] * 42), 400, "line 2 has 42 columns; expected 43"),
        (CSV, ",".join(["1"] * 42 + ["x"]), 400, "line 1, column 43: 'x' is not a number"),
        (CSV, "a,b\n", 400, "line 1 has 2 columns"),
        ({"Content-Type": "application/json"}, "[[1]]", 400, "instance 0 has 1 values"),
        (JSON, "[[" + "9" * 400 + ", " + ", ".join(["1"] * 42) + "]]", 400, "not a finite float32 number"),
        (JSON, "[" * 100_000 + "]" * 100_000, 400, "nested too deeply"),
    ],
)
def test_bad_requests_get_a_status_and_a_message(
    client: FlaskClient, headers: dict[str, str], body: str, status: int, message: str
) -> None:
    response = client.post("/invocations", data=body, headers=headers)
    assert response.status_code == status
    assert response.mimetype == "text/plain"
    assert message in response.get_data(as_text=True)


_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=45) | st.dictionaries(st.text(max_size=12), children),
    max_leaves=200,
)
# Integers of any size up to 400 digits, the size that once overflowed the conversion to float.
_BIG_INTEGERS = st.integers(min_value=-(10**400), max_value=10**400)


@_FUZZ
@given(body=st.binary(max_size=2000), content_type=st.sampled_from(["text/csv", "application/json"]))
def test_any_bytes_get_a_result_or_a_client_error(
    client: FlaskClient, body: bytes, content_type: str
) -> None:
    response = client.post("/invocations", data=body, headers={"Content-Type": content_type})
    assert response.status_code in {200} | CLIENT_ERRORS, response.get_data(as_text=True)


@_FUZZ
@given(document=_JSON_VALUES | st.fixed_dictionaries({"instances": _JSON_VALUES}))
def test_any_json_gets_a_result_or_a_client_error(client: FlaskClient, document: object) -> None:
    response = client.post("/invocations", data=json.dumps(document), headers=JSON)
    assert response.status_code in {200} | CLIENT_ERRORS, response.get_data(as_text=True)


@_FUZZ
@given(
    instances=st.lists(
        st.lists(st.none() | _BIG_INTEGERS | st.floats() | st.text(max_size=5), min_size=43, max_size=44)
        | st.dictionaries(
            st.sampled_from([*FEATURES, ID_COLUMN, "x"]), _BIG_INTEGERS | st.floats() | st.none()
        ),
        min_size=1,
        max_size=5,
    )
)
def test_json_rows_of_the_right_shape_get_a_result_or_a_client_error(
    client: FlaskClient, instances: list[object]
) -> None:
    response = client.post("/invocations", data=json.dumps({"instances": instances}), headers=JSON)
    assert response.status_code in {200} | CLIENT_ERRORS, response.get_data(as_text=True)


def test_bodies_over_the_limit_get_413(client: FlaskClient, holdout_frame: pd.DataFrame) -> None:
    row = score_csv_text(holdout_frame.iloc[:1])
    body = row * (SETTINGS.max_payload_bytes // len(row) + 1)
    response = client.post("/invocations", data=body, headers=CSV)
    assert response.status_code == 413
    assert "larger than the 1 MiB limit" in response.get_data(as_text=True)
    # A chunked body has no Content-Length; gunicorn marks such input as terminated by the transfer encoding.
    chunked = client.post(
        "/invocations",
        input_stream=io.BytesIO(body.encode()),
        headers=CSV,
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert chunked.status_code == 413
    just_under = row * (SETTINGS.max_payload_bytes // len(row))
    assert client.post("/invocations", data=just_under, headers=CSV).status_code == 200


def test_other_routes_and_methods(client: FlaskClient) -> None:
    assert client.get("/execution-parameters").get_json() == {
        "MaxConcurrentTransforms": 2,
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": 1,
    }
    assert client.get("/invocations").status_code == 405
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and missing.mimetype == "text/plain"


def test_unexpected_errors_are_a_500_without_internals(
    trained_root: MlPaths, holdout_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    client = create_app(trained_root.model_dir, SETTINGS).test_client()

    def broken(self, features):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(Model, "predict", broken)
    response = client.post("/invocations", data=score_csv_text(holdout_frame.iloc[:2]), headers=CSV)
    assert response.status_code == 500
    assert "secret" not in response.get_data(as_text=True)
    assert "internal error while scoring" in response.get_data(as_text=True)
    assert "secret internal detail" in caplog.text  # the log has it


def test_settings_come_from_the_environment() -> None:
    settings = ServingSettings.from_env(
        {"MODEL_SERVER_WORKERS": "3", "MODEL_SERVER_TIMEOUT": "120", "MODEL_SERVER_MAX_PAYLOAD_MB": "20"}
    )
    assert (settings.workers, settings.timeout_s, settings.max_payload_mb) == (3, 120, 20)
    assert ServingSettings.from_env({}).max_payload_mb == 6
    assert ServingSettings(workers=4, timeout_s=1, max_payload_mb=1, cpu_count=16).threads_per_worker == 4
    assert ServingSettings(workers=8, timeout_s=1, max_payload_mb=1, cpu_count=2).threads_per_worker == 1


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MODEL_SERVER_WORKERS": "many"}, "MODEL_SERVER_WORKERS='many' is not a whole number"),
        ({"MODEL_SERVER_TIMEOUT": "0"}, "MODEL_SERVER_TIMEOUT=0 is outside 1..3600"),
        ({"MODEL_SERVER_MAX_PAYLOAD_MB": "500"}, "MODEL_SERVER_MAX_PAYLOAD_MB=500 is outside 1..100"),
    ],
)
def test_bad_settings_are_named(environ: dict[str, str], message: str) -> None:
    from xgb_model.settings import SettingsError

    with pytest.raises(SettingsError, match=message):
        ServingSettings.from_env(environ)


def test_model_folder_errors_are_explained(trained_root: MlPaths, tmp_path: Path) -> None:
    from xgb_model.model import ModelLoadError

    (tmp_path / "model.json").write_text("{not a model")
    with pytest.raises(ModelLoadError, match=r"model\.json is not a model XGBoost can load: Expecting"):
        Model.load(tmp_path)
    columns = json.loads((trained_root.model_dir / "columns.json").read_text())
    (tmp_path / "model.json").write_bytes((trained_root.model_dir / "model.json").read_bytes())
    (tmp_path / "columns.json").write_text(json.dumps({**columns, "features": columns["features"][::-1]}))
    with pytest.raises(ModelLoadError, match="lists different features"):
        Model.load(tmp_path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not a model", "model.json is not a model XGBoost can load: Expecting"),
        (b'{"learner": 1}', "model.json is not a model XGBoost can load: "),
        (bytes(range(256)) * 40, "model.json is not a model XGBoost can load: "),
        (b"", "model.json is not a model XGBoost can load: "),
    ],
)
def test_a_corrupt_model_is_a_one_line_reason_without_paths_or_backtrace(
    tmp_path: Path, content: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.json").write_bytes(content)
    response = create_app(folder, SETTINGS).test_client().get("/ping")
    text = response.get_data(as_text=True)
    assert response.status_code == 503
    assert text.startswith("model not loaded: " + reason), text
    assert text.count("\n") == 1 and "/" not in text and "[bt]" not in text and "Stack trace" not in text
    assert "model.json" in caplog.text  # the full detail is in the log


def test_workers_keep_large_blocks_in_the_heap() -> None:
    """Each worker (`create_app`) fixes glibc's mmap and trim thresholds, so a 1 MB request reuses heap pages
    instead of mapping new ones (3,000 page faults a request in benchmarks/bench_scoring.py before)."""
    import subprocess
    import sys

    from tests.container.conftest import CONTAINER_DIR

    code = (
        "import resource\n"
        "from xgb_model.allocator import keep_large_blocks\n"
        "assert keep_large_blocks()\n"
        "blocks = [bytearray(3 << 20) for _ in range(4)]\n"
        "del blocks\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(20):\n"
        "    blocks = [bytearray(3 << 20) for _ in range(4)]\n"
        "    del blocks\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=CONTAINER_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    # 20 rounds of 12 MiB would be ~61,000 faults if each block were mapped afresh.
    assert int(done.stdout) < 1000, done.stdout
    assert "keep_large_blocks()" in (CONTAINER_DIR / "xgb_model" / "app.py").read_text()
