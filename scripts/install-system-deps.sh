#!/usr/bin/env bash
# Installs the Debian packages the test suite needs: R with the laeken and survey packages (peer
# comparisons) and chromium + chromium-driver (the report's browser tests, driven by Selenium).
# Idempotent; skips what is already there. Uses sudo when not root.
set -u
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v chromedriver >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: installing chromium chromium-driver (Debian) ..." >&2
  $SUDO apt-get update -qq >/dev/null && \
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null \
    || echo "install-system-deps: chromium install failed; browser tests will be skipped" >&2
fi
if command -v Rscript >/dev/null 2>&1 && Rscript -e 'quit(status = !(requireNamespace("laeken", quietly = TRUE) && requireNamespace("survey", quietly = TRUE)))' >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: apt-get not found; tests that compare with R laeken will be skipped" >&2
  exit 0
fi
echo "install-system-deps: installing r-base-core r-cran-laeken r-cran-survey (Debian) ..." >&2
$SUDO apt-get update -qq >/dev/null && \
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends r-base-core r-cran-laeken r-cran-survey >/dev/null \
  || { echo "install-system-deps: apt install failed; R comparisons will be skipped" >&2; exit 0; }
