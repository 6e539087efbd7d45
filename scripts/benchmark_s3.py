"""The same data-quality baseline read from local files and from S3 (moto's server on loopback), in one process.

Reports the seconds of each run and the ratio of the best S3 run to the best local run. The S3 path lists
on the driver and downloads every object with boto3 in the executors; the local path is Spark's own reader.

    PYTHONPATH=. .venv/bin/python scripts/benchmark_s3.py [--rows 400000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from aws import install_test_credentials, start_server  # noqa: E402

install_test_credentials()  # dummy credentials, before Spark starts: its workers inherit them


def main() -> None:
    import numpy as np
    from helpers import mixed_frame

    from monitor_lib.runner import run_job
    from monitor_lib.spark import get_spark

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=400_000)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    os.environ.setdefault("MODEL_MONITOR_SPARK_LOG_LEVEL", "ERROR")
    server = start_server()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint
    try:
        spark = get_spark("benchmark-s3")
        client = server.client("s3")
        client.create_bucket(Bucket="bench-bucket")
        frame, _ = mixed_frame(args.rows, seed=1)
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            data.mkdir()
            for i, part in enumerate(np.array_split(np.arange(len(frame)), args.files)):
                path = data / f"p{i}.csv"
                frame.iloc[part].to_csv(path, index=False)
                client.upload_file(str(path), "bench-bucket", f"data/p{i}.csv")
            size = sum(p.stat().st_size for p in data.iterdir())

            def run(source: str, out: str) -> float:
                started = time.monotonic()
                run_job("data-quality", {"dataset_source": source, "output_path": out,
                                         "dataset_format": '{"csv": {"header": true}}'}, spark=spark)
                return time.monotonic() - started

            run(str(data), str(Path(tmp) / "out"))  # warm-up
            seconds: dict[str, list[float]] = {"local": [], "s3": []}
            for _ in range(args.repeats):
                seconds["local"].append(run(str(data), str(Path(tmp) / "out")))
                seconds["s3"].append(run("s3://bench-bucket/data", "s3://bench-bucket/out"))
        print(json.dumps({"rows": args.rows, "files": args.files, "MB": round(size / 1e6, 1),
                          **{k: [round(x, 2) for x in v] for k, v in seconds.items()},
                          "best_s3_over_best_local": round(min(seconds["s3"]) / min(seconds["local"]), 2)}))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
