"""The ``predictor`` block of a feature-attribution config, checked: which model and how to call it
(:mod:`monitor_lib.explain.predictor` builds the predict function, :mod:`monitor_lib.explain.endpoint` the remote
one). Imports nothing of ``monitor_lib.explain``: both use it."""

from __future__ import annotations

from dataclasses import dataclass

SOURCES = ("model_factory", "model_uri", "endpoint_name", "endpoint_url")


@dataclass(frozen=True)
class PredictorSpec:
    """The ``predictor`` block, checked (:func:`monitor_lib.explain.config.parse_predictor`). Picklable and
    hashable: it travels to the executors, which build the predict function from it once."""

    model_factory: str | None = None  # module:function
    model_uri: str | None = None  # joblib / pickle file, local or s3://
    endpoint_name: str | None = None  # SageMaker endpoint (boto3 sagemaker-runtime invoke_endpoint)
    endpoint_url: str | None = None  # any HTTP(S) URL, POST
    content_type: str = "text/csv"
    accept_type: str | None = None  # default: content_type
    content_template: str | None = None  # JSON requests: "$features" (JSON Lines) / "$records" (JSON)
    record_template: str | None = None  # JSON: one record in $records: $features, $feature_names, $features_kvp
    label: int | str | None = None  # index (CSV) or JMESPath (JSON) of the predicted label in the response
    probability: int | str | None = None  # index (CSV) or JMESPath (JSON) of the score(s) in the response
    label_headers: tuple[str, ...] | None = None  # names of the explained outputs
    custom_attributes: str | None = None  # SageMaker CustomAttributes header
    target_model: str | None = None  # SageMaker multi-model endpoint TargetModel
    feature_names: tuple[str, ...] = ()  # the features' names, in order ($feature_names, $features_kvp)
    max_records_per_request: int = 1000  # HTTP: rows per request (a model call is split into requests)
    max_retries: int = 3  # HTTP: retries of a failed request (429, 5xx, connection errors)
    backoff_seconds: float = 0.5  # HTTP: first retry delay, doubled each retry
    requests_per_second: float | None = None  # HTTP: rate limit per executor process (None: unlimited)
    timeout_seconds: float = 60.0  # HTTP: per request

    @property
    def source(self) -> str:
        return next(s for s in SOURCES if getattr(self, s))

    @property
    def where(self) -> str:
        """The model's source as messages name it."""
        return f"{self.source} {getattr(self, self.source)}"

    @property
    def remote(self) -> bool:
        return bool(self.endpoint_name or self.endpoint_url)
