# The analyzer image: a bring-your-own-container replacement for sagemaker-model-monitor-analyzer.
#
#   docker build -t spark-model-monitor .        (the build context is the repository root)
#
# ENTRYPOINT sizes the Spark driver to the container and runs `model-monitor analyze`, which honours the
# SageMaker Processing contract: /opt/ml/config/processingjobconfig.json and environment variables,
# /opt/ml/processing/... inputs and outputs, /opt/ml/output/metrics/cloudwatch, /opt/ml/output/message,
# exit 0 (also with violations) or 255. Several instances: the first host of resourceconfig.json does
# the work in Spark local mode, the others exit 0 at once (README, "As a SageMaker container").
# tests/unit/test_container_image.py checks this file; tests/integration/test_container_contract.py runs
# its ENTRYPOINT with its ENV against the contract.

# bookworm: Debian 13 (trixie, the newer python:3.11-slim) no longer ships OpenJDK 17
FROM python:3.11-slim-bookworm

# Java 17 for Spark 4. JAVA_HOME is a link that does not depend on the architecture (amd64, arm64).
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s "$(dirname "$(dirname "$(readlink -f /usr/bin/java)")")" /opt/java \
    && /opt/java/bin/java -version

# Everything lives in a virtual environment readable by any user; nothing is written under it at run
# time (HOME and the working directory are /tmp, Spark's scratch space is /tmp too), so the image runs
# as root, as SageMaker runs it, or under any --user. A processing job runs once, so the class-data
# sharing archive the CLI would write for the next run (docs/clusters.md) is never reused: off.
ENV JAVA_HOME=/opt/java \
    VIRTUAL_ENV=/opt/model-monitor \
    PATH=/opt/model-monitor/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYSPARK_PYTHON=/opt/model-monitor/bin/python \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    MODEL_MONITOR_CLASS_CACHE=off

# The runtime pins only (requirements.lock adds the test tools); a layer that changes with the lock alone.
COPY requirements-runtime.lock /tmp/build/requirements-runtime.lock
RUN python -m venv /opt/model-monitor \
    && /opt/model-monitor/bin/pip install --no-cache-dir --disable-pip-version-check \
       -r /tmp/build/requirements-runtime.lock

# This package, without dependencies (the pins above are all of them).
COPY setup.py /tmp/build/setup.py
COPY monitor_lib /tmp/build/monitor_lib
RUN /opt/model-monitor/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps /tmp/build \
    && rm -rf /tmp/build \
    && model-monitor --version

COPY scripts/container-entrypoint.sh /usr/local/bin/model-monitor-entrypoint
RUN chmod 0755 /usr/local/bin/model-monitor-entrypoint

WORKDIR /tmp
ENTRYPOINT ["/usr/local/bin/model-monitor-entrypoint"]
