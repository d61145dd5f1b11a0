#!/usr/bin/env bash
# Install everything the tests need, then run them all. README's test command; CI calls it too.
#   bash tests/run.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
$PY -m pip install -q -r tests/requirements.txt
# Debian's chromium for the browser tests (playwright cannot download browsers here)
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium not found and no apt-get: the browser tests will be skipped" >&2
  fi
fi
# a CJK font, so Chinese figures and screenshots (tests/test_browser_i18n.py) show characters, not boxes
if command -v apt-get >/dev/null 2>&1 && ! fc-list 2>/dev/null | grep -qi "wqy\|cjk"; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -qq fonts-wqy-microhei >/dev/null || echo "no CJK font: Chinese screenshots show boxes" >&2
fi
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1 TOKENIZERS_PARALLELISM=false
# the linter first (ruff.toml: pyflakes, bugbear, import order); any finding fails the run (set -e)
$PY -m ruff check .
exec $PY -m pytest tests -q -ra "$@"
