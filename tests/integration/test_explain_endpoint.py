"""The remote model of the feature-attribution monitor (monitor_lib/explain/endpoint.py): a real HTTP model
server in its own process on 127.0.0.1 (tests/model_server.py) serving a scikit-learn model, and a real
``sagemaker-runtime`` client with botocore's Stubber. The scores must equal the in-process model's."""

from __future__ import annotations

import io
import socket
import time

import boto3
import joblib
import numpy as np
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from model_server import start_model_server
from sklearn.linear_model import LogisticRegression

from monitor_lib.errors import ConfigError, MonitorError
from monitor_lib.explain import endpoint, predictor
from monitor_lib.explain.endpoint import EndpointError
from monitor_lib.explain.predictor import PredictorSpec, predict_function

FEATURES = ("age", "income", "tenure", "calls")


@pytest.fixture(scope="module")
def model_and_file(tmp_path_factory):
    rng = np.random.default_rng(20240611)
    X = rng.normal(size=(300, 4)) * [10.0, 1e4, 1.0, 1e-3] + [40.0, 5e4, 3.0, 0.0]
    y = (X @ [0.05, 1e-4, -0.8, 500.0] + rng.normal(size=300) > 7.0).astype(int)
    model = LogisticRegression(max_iter=2000).fit(X, y)
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    joblib.dump(model, path)
    return model, path


@pytest.fixture(scope="module")
def model(model_and_file):
    return model_and_file[0]


@pytest.fixture(scope="module")
def server(model_and_file):
    with start_model_server(model_and_file[1]) as s:
        yield s


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch):
    """predict_function keeps one function per spec and process: each test builds its own."""
    monkeypatch.setattr(predictor, "_cache", {})


@pytest.fixture
def rows():
    rng = np.random.default_rng(5)
    return rng.normal(size=(23, 4)) * [10.0, 1e4, 1.0, 1e-3] + [40.0, 5e4, 3.0, 0.0]


def http_spec(server, **kw) -> PredictorSpec:
    kw.setdefault("max_records_per_request", 10)
    kw.setdefault("backoff_seconds", 0.01)
    return PredictorSpec(endpoint_url=server.url, feature_names=FEATURES, **kw)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- HTTP: the three formats, split into requests -------------------------------------------------------------------

def test_csv_scores_equal_the_model_and_the_call_is_split(server, model, rows):
    server.reset()
    scores = predict_function(http_spec(server))(rows)

    assert scores.shape == (23, 1)
    np.testing.assert_allclose(scores[:, 0], model.predict_proba(rows)[:, 1], rtol=0, atol=1e-9)
    stats = server.stats()
    assert stats["rows"] == [10, 10, 3]  # 23 rows, at most 10 per request, in order
    assert stats["content_types"] == ["text/csv"] * 3 and stats["accepts"] == ["text/csv"] * 3


def test_csv_index_probability_and_every_column(server, model, rows):
    server.reset(csv_both=True)  # the answer: p0,p1 per line
    expected = model.predict_proba(rows)

    picked = predict_function(http_spec(server, probability=1))(rows)
    both = predict_function(http_spec(server))(rows)

    np.testing.assert_allclose(picked[:, 0], expected[:, 1], rtol=0, atol=1e-9)
    assert both.shape == (23, 2)
    np.testing.assert_allclose(both, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("content_type, probability, columns", [
    ("application/json", "predictions[*].score", [1]),
    ("application/json", "predictions[*].scores", [0, 1]),
    ("application/jsonlines", "score", [1]),
    ("application/jsonlines", "scores", [0, 1]),
    ("application/jsonlines", "scores[0]", [0]),
])
def test_json_scores_equal_the_model(server, model, rows, content_type, probability, columns):
    server.reset()
    scores = predict_function(http_spec(server, content_type=content_type, probability=probability))(rows)

    assert scores.shape == (23, len(columns))
    np.testing.assert_allclose(scores, model.predict_proba(rows)[:, columns], rtol=0, atol=1e-9)
    stats = server.stats()
    assert stats["rows"] == [10, 10, 3] and stats["statuses"] == [200] * 3
    assert stats["content_types"] == [content_type] * 3


def test_csv_request_json_answer(server, model, rows):
    server.reset()
    spec = http_spec(server, accept_type="application/json", label="predictions[*].score")

    scores = predict_function(spec)(rows)

    np.testing.assert_allclose(scores[:, 0], model.predict_proba(rows)[:, 1], rtol=0, atol=1e-9)
    assert server.stats()["accepts"] == ["application/json"] * 3


def test_json_request_templates(server, model, rows):
    """Records as name → value objects inside {"instances": ...}, lines as {"features": {...}}."""
    server.reset()
    json_spec = http_spec(server, content_type="application/json", content_template='{"instances":$records}',
                          record_template="$features_kvp", probability="predictions[*].score")
    lines_spec = http_spec(server, content_type="application/jsonlines", content_template='{"features":$features}',
                           probability="score")

    expected = model.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(predict_function(json_spec)(rows)[:, 0], expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(predict_function(lines_spec)(rows)[:, 0], expected, rtol=0, atol=1e-9)
    assert endpoint.request_body(rows[:1], json_spec).decode() == (
        '{{"instances":[{{"age":{!r},"income":{!r},"tenure":{!r},"calls":{!r}}}]}}'.format(*rows[0].tolist()))


def test_a_json_answer_of_records_without_a_pick_names_the_value(server, rows):
    server.reset()
    with pytest.raises(EndpointError) as e:
        predict_function(http_spec(server, content_type="application/json"))(rows)
    message = str(e.value)
    assert message.startswith(f"endpoint {server.url}: record 0 of the answer is '{{\"score\": ")
    assert "not a number (set predictor.probability to pick the score)" in message


# -- HTTP: retries and failures -------------------------------------------------------------------------------------

def test_failing_twice_is_retried(server, model, rows):
    server.reset(fail_first=2)
    spec = http_spec(server, max_records_per_request=100, max_retries=3, backoff_seconds=0.01)

    scores = predict_function(spec)(rows)

    np.testing.assert_allclose(scores[:, 0], model.predict_proba(rows)[:, 1], rtol=0, atol=1e-9)
    stats = server.stats()
    assert stats["statuses"] == [500, 500, 200]
    gaps = np.diff(stats["arrivals"])
    assert gaps[0] >= 0.01 and gaps[1] >= 0.02  # the back-off: the first delay, then twice it


def test_always_failing_names_the_url_the_status_and_the_attempts(server, rows):
    server.reset(always_fail=True)
    with pytest.raises(MonitorError) as e:
        predict_function(http_spec(server, max_retries=3))(rows)

    assert isinstance(e.value, EndpointError)
    assert str(e.value) == (f"endpoint {server.url} answered HTTP 500 after 4 attempts: injected failure of "
                            "request 4")
    assert server.stats()["requests"] == 4


def test_a_client_error_is_not_retried(server, rows):
    server.reset(always_fail=True, status=400)
    with pytest.raises(EndpointError, match=r"answered HTTP 400 after 1 attempt: injected failure of request 1"):
        predict_function(http_spec(server, max_retries=3))(rows)
    assert server.stats()["requests"] == 1


def test_refused_connection_names_the_url():
    url = f"http://127.0.0.1:{closed_port()}/invocations"
    spec = PredictorSpec(endpoint_url=url, max_retries=2, backoff_seconds=0.01)
    with pytest.raises(EndpointError) as e:
        predict_function(spec)(np.zeros((2, 3)))
    assert str(e.value).startswith(f"endpoint {url} refused the connection after 3 attempts")


def test_rate_limit_spaces_the_requests(server, rows):
    server.reset()
    spec = http_spec(server, max_records_per_request=2, requests_per_second=20)

    started = time.monotonic()
    predict_function(spec)(rows[:10])
    elapsed = time.monotonic() - started

    stats = server.stats()
    assert stats["rows"] == [2] * 5
    assert np.diff(stats["arrivals"]).min() >= 0.05 - 0.01
    assert elapsed >= 4 / 20 - 0.01


def test_rate_limiter_is_shared_by_threads():
    limiter = endpoint._RateLimiter(50)
    import threading

    times: list[float] = []

    def call():
        limiter.wait()
        times.append(time.monotonic())

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert np.diff(sorted(times)).min() >= 0.02 - 0.005


# -- SageMaker: a real client, stubbed -------------------------------------------------------------------------------

def streaming(text: str) -> StreamingBody:
    data = text.encode()
    return StreamingBody(io.BytesIO(data), len(data))


@pytest.fixture
def sagemaker(monkeypatch):
    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    monkeypatch.setattr(endpoint, "_sagemaker_client", lambda spec: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def csv_text(X) -> str:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in X)


def test_sagemaker_csv_requests_and_scores(sagemaker, rows):
    X = rows[:5]
    spec = PredictorSpec(endpoint_name="churn-xgb", content_type="text/csv", accept_type="text/csv", probability=1,
                         custom_attributes="trace=abc", target_model="model-b.tar.gz", max_records_per_request=3)
    expected = [[0.25, 0.75], [0.5, 0.5], [0.875, 0.125], [0.1, 0.9], [0.3, 0.7]]
    for chunk in (slice(0, 3), slice(3, 5)):
        answer = "\n".join(f"{p0!r},{p1!r}" for p0, p1 in expected[chunk]) + "\n"
        sagemaker.add_response(
            "invoke_endpoint", {"Body": streaming(answer), "ContentType": "text/csv"},
            expected_params={"EndpointName": "churn-xgb", "Body": csv_text(X[chunk]).encode(),
                             "ContentType": "text/csv", "Accept": "text/csv", "CustomAttributes": "trace=abc",
                             "TargetModel": "model-b.tar.gz"})

    scores = predict_function(spec)(X)

    np.testing.assert_array_equal(scores[:, 0], [p1 for _, p1 in expected])


def test_sagemaker_json_lines_and_json(sagemaker, rows):
    X = rows[:2]
    lines = PredictorSpec(endpoint_name="m", content_type="application/jsonlines", probability="prediction.score")
    sagemaker.add_response(
        "invoke_endpoint", {"Body": streaming('{"prediction": {"score": 0.25}}\n{"prediction": {"score": 0.5}}\n')},
        expected_params={"EndpointName": "m", "ContentType": "application/jsonlines", "Accept": "application/jsonlines",
                         "Body": "\n".join(f'{{"features":[{",".join(map(repr, r))}]}}' for r in X.tolist()).encode()})
    bare = PredictorSpec(endpoint_name="m", content_type="application/json")  # nothing picked: the whole records
    sagemaker.add_response(
        "invoke_endpoint", {"Body": streaming("[[0.1, 0.9], [0.4, 0.6]]")},
        expected_params={"EndpointName": "m", "ContentType": "application/json", "Accept": "application/json",
                         "Body": ("[" + ",".join(f"[{','.join(map(repr, r))}]" for r in X.tolist()) + "]").encode()})

    one = PredictorSpec(endpoint_name="m", content_type="application/json", content_template='{"instance":$record}',
                        probability="score")  # $record: one row per request, the answer is that row's
    for i, score in enumerate((0.125, 0.375)):
        sagemaker.add_response(
            "invoke_endpoint", {"Body": streaming(f'{{"score": {score}}}')},
            expected_params={"EndpointName": "m", "ContentType": "application/json", "Accept": "application/json",
                             "Body": f'{{"instance":[{",".join(map(repr, X[i].tolist()))}]}}'.encode()})

    np.testing.assert_array_equal(predict_function(lines)(X)[:, 0], [0.25, 0.5])
    np.testing.assert_array_equal(predict_function(bare)(X), [[0.1, 0.9], [0.4, 0.6]])
    np.testing.assert_array_equal(predict_function(one)(X)[:, 0], [0.125, 0.375])


def test_sagemaker_record_count_and_values_are_checked(sagemaker, rows):
    spec = PredictorSpec(endpoint_name="churn-xgb")
    sagemaker.add_response("invoke_endpoint", {"Body": streaming("0.5\n0.25\n")})
    sagemaker.add_response("invoke_endpoint", {"Body": streaming("0.5\nyes\n0.25\n")})

    with pytest.raises(EndpointError, match=r"^SageMaker endpoint churn-xgb answered 2 record\(s\) to a request of "
                                            r"3 \(rows 0-2\)"):
        predict_function(spec)(rows[:3])
    with pytest.raises(EndpointError, match=r"^SageMaker endpoint churn-xgb: record 1 of the answer is 'yes', not a "
                                            r"number"):
        predict_function(spec)(rows[:3])


def test_sagemaker_model_error_names_the_endpoint_and_status(sagemaker, rows):
    sagemaker.add_client_error("invoke_endpoint", service_error_code="ModelError", http_status_code=424,
                               service_message="Received server error (500) from primary with message "
                                               "\"boom\"")
    with pytest.raises(EndpointError) as e:
        predict_function(PredictorSpec(endpoint_name="churn-xgb"))(rows[:2])
    assert str(e.value).startswith("SageMaker endpoint churn-xgb answered HTTP 424 ModelError after 1 attempt: "
                                   "Received server error (500)")


def test_sagemaker_client_region_retries_and_cache(monkeypatch):
    monkeypatch.setattr(endpoint, "_clients", {})
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    spec = PredictorSpec(endpoint_name="m", max_retries=5)

    client = endpoint._sagemaker_client(spec)

    assert client.meta.region_name == "eu-west-1"
    assert client.meta.config.retries == {"total_max_attempts": 6, "mode": "standard"}  # 1 + 5 retries
    assert endpoint._sagemaker_client(spec) is client  # one per process


# -- configuration ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kw, field", [
    ({"content_type": "text/plain"}, "predictor.content_type 'text/plain'"),
    ({"accept_type": "application/x-protobuf"}, "predictor.accept_type 'application/x-protobuf'"),
    ({"probability": "predictions[*].score"}, "predictor.probability 'predictions[*].score'"),
    ({"content_type": "application/json", "probability": "predictions[*"}, "predictor.probability"),
    ({"content_type": "application/json", "content_template": '{"x": 1}'}, "predictor.content_template"),
    ({"content_type": "application/json", "record_template": "${nope}"}, "${nope} is not a feature"),
    ({"endpoint_url": "ftp://host/x"}, "predictor.endpoint_url 'ftp://host/x'"),
])
def test_bad_configuration_names_the_field(kw, field):
    kw = {"endpoint_url": "http://127.0.0.1:9/invocations", **kw}
    with pytest.raises(ConfigError) as e:
        predict_function(PredictorSpec(feature_names=FEATURES, **kw))
    assert field in str(e.value)
    if "content_type" in kw and kw["content_type"] == "text/plain":
        assert "text/csv, application/jsonlines, application/json" in str(e.value)
