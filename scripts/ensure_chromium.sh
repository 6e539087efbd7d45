#!/usr/bin/env bash
# The report tests render pages in headless Chromium (Debian's `chromium` package). Installs it when it is
# missing and this user may run apt-get; otherwise says what to install. MODEL_MONITOR_CHROMIUM overrides.
set -u
if [ -n "${MODEL_MONITOR_CHROMIUM:-}" ] && [ -x "$MODEL_MONITOR_CHROMIUM" ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the report tests (apt-get, about 30 s) ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
    command -v chromium >/dev/null 2>&1 && exit 0
  fi
  echo "error: 'apt-get install chromium' failed; the report tests need headless Chromium." >&2
  exit 1
fi
echo "error: headless Chromium not found. Install Debian's 'chromium' package (apt-get install chromium)" \
     "or set MODEL_MONITOR_CHROMIUM to a Chromium/Chrome binary; the report tests render pages in it." >&2
exit 1
