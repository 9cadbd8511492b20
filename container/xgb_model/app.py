"""The Flask application behind `/ping`, `/invocations` and `/execution-parameters`.

The model is loaded once, when the application is created: gunicorn imports `wsgi.py` in each worker, so
each worker holds one copy. A model that cannot be loaded leaves `/ping` answering 503 with the reason, so
the endpoint fails its health check with a message in the log instead of a crash loop.

Explanations are off by default and are requested per call, either with SageMaker's custom attributes
(`InvokeEndpoint(..., CustomAttributes="explain=true")`, which reaches the container as the
`X-Amzn-SageMaker-Custom-Attributes` header) or with the query parameter `?explain=true` when calling the
container directly. Each CSV response line is then `probability,<contribution per feature>,bias`
(contributions are XGBoost's SHAP values, in log-odds).

Every error is a short plain-text message with a 4xx status: 415 for an unsupported content type, 406 for
an unsupported Accept, 400 for a malformed body, 413 for a body over the size limit. Anything unexpected is
logged with its traceback and answered with a 500 that carries no internals.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Request, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from xgb_model import payload
from xgb_model.allocator import keep_large_blocks
from xgb_model.model import Model, ModelLoadError
from xgb_model.paths import MlPaths
from xgb_model.payload import PayloadError
from xgb_model.settings import ServingSettings

LOG = logging.getLogger("xgb_model.app")
CUSTOM_ATTRIBUTES_HEADER = "X-Amzn-SageMaker-Custom-Attributes"
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}
_TEXT_CHARSETS = {"utf-8", "utf8", "us-ascii", "ascii"}
# How much of an oversized body is read and discarded so the client sees the 413 rather than a reset.
_DRAIN_LIMIT_BYTES = 128 * 1024 * 1024


def create_app(model_dir: Path | None = None, settings: ServingSettings | None = None) -> Flask:
    """The application, with its model loaded from `model_dir` (default: the SageMaker model folder)."""
    keep_large_blocks()  # requests reuse heap pages instead of mapping new ones (see xgb_model/allocator.py)
    settings = settings or ServingSettings.from_env()
    model, load_error = _load_model(model_dir or MlPaths.from_env().model_dir, settings)

    app = Flask("xgb_model")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_payload_bytes

    @app.get("/ping")
    def ping() -> Response:
        if model is None:
            return _text(503, f"model not loaded: {load_error}")
        return Response(status=200)

    @app.get("/execution-parameters")
    def execution_parameters() -> Response:
        # Batch Transform asks this when the job leaves these settings unset.
        return jsonify(
            MaxConcurrentTransforms=settings.workers,
            BatchStrategy="MULTI_RECORD",
            MaxPayloadInMB=settings.max_payload_mb,
        )

    @app.post("/invocations")
    def invocations() -> Response:
        if model is None:
            return _text(503, f"model not loaded: {load_error}")
        return _invoke(model, request, settings)

    _register_error_handlers(app, settings)
    return app


def _load_model(model_dir: Path, settings: ServingSettings) -> tuple[Model | None, str]:
    """The model, or None and the reason it could not be loaded (which `/ping` then reports)."""
    try:
        return Model.load(model_dir, nthread=settings.threads_per_worker), ""
    except ModelLoadError as error:
        LOG.error("model not loaded: %s", error)
        return None, str(error)


def _invoke(model: Model, req: Request, settings: ServingSettings) -> Response:
    """One `/invocations` call: check the types, parse the body, predict (and explain), format the answer."""
    content_type = req.mimetype
    if content_type not in payload.CONTENT_TYPES:
        return _text(
            415,
            f"unsupported content type {content_type or '(none)'!r}; send text/csv or application/json",
        )
    charset = req.mimetype_params.get("charset", "utf-8").lower()
    if charset not in _TEXT_CHARSETS:
        return _text(415, f"unsupported charset {charset!r}; send UTF-8")
    response_type = _response_type(req, content_type)
    if response_type is None:
        return _text(
            406, "cannot answer in any type the Accept header allows; accept text/csv or application/json"
        )
    explain = _explain_requested(req)
    body = _read_body(req, settings.max_payload_bytes)
    if content_type == payload.CSV:
        rows = payload.parse_csv(body, model.schema)
    else:
        rows = payload.parse_json(body, model.schema)
    probabilities = model.predict(rows.features)
    contributions = model.explain(rows.features) if explain else None
    if response_type == payload.CSV:
        text = payload.format_csv(probabilities, contributions)
    else:
        text = payload.format_json(probabilities, model.schema, contributions)
    return Response(text, mimetype=response_type)


def _register_error_handlers(app: Flask, settings: ServingSettings) -> None:
    """Every error becomes a short plain-text answer; anything unexpected a 500 without internals."""

    @app.errorhandler(PayloadError)
    def bad_payload(error: PayloadError) -> Response:
        return _text(400, str(error))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_: RequestEntityTooLarge) -> Response:
        _drain(request)
        return _text(
            413,
            f"the body is larger than the {settings.max_payload_mb} MiB limit; split it into smaller requests "
            "(or raise MODEL_SERVER_MAX_PAYLOAD_MB)",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return _text(error.code or 500, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        LOG.exception("unexpected error while answering %s %s", request.method, request.path)
        return _text(500, "internal error while scoring; the container log has the details")


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def _response_type(req: Request, request_type: str) -> str | None:
    """The response type: the request's own type unless the Accept header asks for the other one."""
    if not req.accept_mimetypes:
        return request_type
    other = payload.JSON if request_type == payload.CSV else payload.CSV
    return req.accept_mimetypes.best_match([request_type, other])


def _explain_requested(req: Request) -> bool:
    """Whether the caller asked for explanations (custom attributes or `?explain=`); off by default."""
    value = req.args.get("explain")
    for attribute in req.headers.get(CUSTOM_ATTRIBUTES_HEADER, "").replace(";", ",").split(","):
        key, _, attribute_value = attribute.partition("=")
        if key.strip().lower() == "explain":
            value = attribute_value.strip() or "true"
    if value is None:
        return False
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise PayloadError(f"explain={value!r} is not true or false")


def _read_body(req: Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it exceeds `limit` (also for chunked bodies without a length)."""
    if req.content_length is not None and req.content_length > limit:
        raise RequestEntityTooLarge()
    parts: list[bytes] = []
    size = 0
    while chunk := req.stream.read(min(1 << 20, limit + 1 - size)):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge()
    return b"".join(parts)


def _drain(req: Request) -> None:
    """Read and discard what is left of an oversized body (up to a bound), then let the server close."""
    stream = req.environ.get("wsgi.input")
    remaining = min(req.content_length or _DRAIN_LIMIT_BYTES, _DRAIN_LIMIT_BYTES)
    try:
        while stream is not None and remaining > 0:
            chunk = stream.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
    except (OSError, ValueError):
        pass  # the client went away; nothing left to protect
