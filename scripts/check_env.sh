#!/usr/bin/env bash
# Fails early, with a message that says what to install, when Python 3.11+ or Java 17+ is missing.
set -u
PY="${1:-python3.11}"
if ! command -v "$PY" >/dev/null 2>&1; then
  if command -v python3 >/dev/null 2>&1 && python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    : # python3 is new enough; the Makefile falls back to it below
  else
    echo "error: $PY not found. Install Python 3.11 (e.g. 'apt-get install python3.11 python3.11-venv')." >&2
    exit 1
  fi
fi
JAVA="java"
if [ -n "${JAVA_HOME:-}" ]; then JAVA="$JAVA_HOME/bin/java"; fi
if ! command -v "$JAVA" >/dev/null 2>&1; then
  if [ -n "${JAVA_HOME:-}" ]; then where="JAVA_HOME=$JAVA_HOME has no bin/java"; else where="no 'java' on PATH and JAVA_HOME unset"; fi
  echo "error: Java not found ($where). Spark needs Java 17: install it, e.g. 'apt-get install openjdk-17-jre-headless', or set JAVA_HOME." >&2
  exit 1
fi
ver=$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
if [ -z "$ver" ] || [ "$ver" -lt 17 ]; then
  echo "error: Java 17 or newer is required by Spark 4; found '$("$JAVA" -version 2>&1 | head -1)'. Install openjdk-17 or point JAVA_HOME at it." >&2
  exit 1
fi
