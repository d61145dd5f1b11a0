#!/usr/bin/env bash
# The GPU check (issue 20): on a CUDA machine, from a fresh clone, with no editing:
#   bash tests/gpu/run.sh
# installs the test requirements (torch==2.13.0 from PyPI is a CUDA build on Linux x86_64), then runs, on the GPU,
# the parity tests (fp32 logits against the reference; bf16 / fp16 greedy ids against fp32 on Shapes scenes), the
# app's endpoints through the API, and the classroom bench (both flows); prints one summary table and saves it in
# tests/_artifacts/gpu-check/summary.md (GITDEMO_GPU_CHECK_OUT=DIR elsewhere). Budget: under 10 minutes on one H100
# once installed. Without CUDA it says so and exits 0.
#   GITDEMO_GPU_CHECK_DEVICE=cpu  rehearse the whole check on the CPU, reduced (proves the check itself works)
#   GITDEMO_GPU_CHECK_INSTALL=0   do not pip install (an offline machine with everything installed)
#   GITDEMO_GPU_CHECK_EXPLORE_FROM=trace,record   the bench compares the explorer from a new pass and from the record
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
export GITDEMO_GPU_CHECK_DEVICE=${GITDEMO_GPU_CHECK_DEVICE:-cuda}
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1 TOKENIZERS_PARALLELISM=false

torch_sees_cuda() { $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" >/dev/null 2>&1; }

if [ "$GITDEMO_GPU_CHECK_DEVICE" = cuda ]; then
  if ! { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; } && ! torch_sees_cuda; then
    echo "GPU check skipped: there is no CUDA GPU on this machine (nvidia-smi lists none and torch sees none)." \
         "Run it where one is lent; GITDEMO_GPU_CHECK_DEVICE=cpu rehearses it on the CPU."
    exit 0
  fi
fi

if [ "${GITDEMO_GPU_CHECK_INSTALL:-1}" != 0 ]; then
  echo "-- pip install -r tests/requirements.txt"
  if ! $PY -m pip install -q --retries 2 --timeout 20 -r tests/requirements.txt; then
    echo "pip install failed (offline?): going on with what is installed" >&2
  fi
fi

if [ "$GITDEMO_GPU_CHECK_DEVICE" = cuda ] && ! torch_sees_cuda; then
  # a CPU-only torch 2.13.0 (e.g. 2.13.0+cpu) satisfies ==2.13.0, so pip kept it: take PyPI's CUDA build instead.
  # --isolated: no extra index from the environment (a CPU index's +cpu build would win again); the wheel is
  # downloaded before the old one is removed, then a plain install adds its CUDA libraries (nvidia-*).
  echo "-- torch cannot use the GPU here: installing torch==2.13.0 from PyPI (its CUDA build)"
  PYPI=(--isolated -q --retries 2 --timeout 60 --index-url https://pypi.org/simple)
  $PY -m pip install "${PYPI[@]}" --force-reinstall --no-deps "torch==2.13.0" \
    && $PY -m pip install "${PYPI[@]}" "torch==2.13.0"
  if ! torch_sees_cuda; then
    $PY -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda)" >&2
    echo "GPU check not run: a GPU is listed but torch cannot use it (driver too old for this torch's CUDA?)." >&2
    exit 2
  fi
fi

for module in torch transformers gradio gradio_client httpx pytest; do
  $PY -c "import $module" 2>/dev/null || { echo "GPU check not run: Python cannot import $module." >&2; exit 2; }
done
exec $PY tests/gpu/check.py
