#!/usr/bin/env bash
# One-command install of mmris into a virtual environment at <checkout>/.venv.
#
#   bash tools/install.sh            # CPU machine (default torch/torchvision pair)
#
# Environment variables (all optional):
#   PYTHON               interpreter used to create the venv        (default: python3)
#   MMRIS_VENV           where the venv lives                       (default: <checkout>/.venv)
#   TORCH_VERSION        torch version to install                   (default: 2.14.1)
#   TORCHVISION_VERSION  the matching torchvision                   (default: 0.29.1)
#   TORCH_INDEX_URL      a PyTorch wheel index to take the pair from, e.g. the cuXYZ index
#                        that PyTorch's install selector gives for your CUDA driver (GPU users)
#   MMRIS_EXTRAS         extras of mmris to install                 (default: tests)
#   MAX_JOBS             parallel compile jobs for mmcv             (default: number of cores)
#
# Idempotent: every step checks whether it is already done.  The mmcv wheel compiled for a
# given torch is kept in pip's cache directory, so a second install (even in a fresh clone)
# does not compile again.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${MMRIS_VENV:-$ROOT/.venv}"
TORCH_VERSION="${TORCH_VERSION:-2.14.1}"
TORCHVISION_VERSION="${TORCHVISION_VERSION:-0.29.1}"
TORCH_INDEX_URL="${TORCH_INDEX_URL:-}"
MMRIS_EXTRAS="${MMRIS_EXTRAS:-tests}"
MMCV_VERSION="2.1.0"
export MAX_JOBS="${MAX_JOBS:-$(nproc 2>/dev/null || echo 2)}"

STEP="start"
step() { STEP="$1"; echo "==> [mmris install] $1"; }
trap 'rc=$?; if [ $rc -ne 0 ]; then echo "!!! [mmris install] step failed: \"$STEP\" (exit $rc). See the output above; docs/get_started.md lists the known pitfalls." >&2; fi' EXIT

step "1/6 virtual environment at $VENV"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
else
  echo "    exists"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

step "2/6 build tools (pip, setuptools<82, wheel, ninja)"
# mmcv 2.1.0's setup.py imports pkg_resources (gone in setuptools 82), and mmengine 0.10.7
# resolves `pkg::` config bases through it at run time too.
"${PIP[@]}" install -q --upgrade "pip>=23" "setuptools>=64,<82" wheel ninja

step "3/6 torch==$TORCH_VERSION + torchvision==$TORCHVISION_VERSION"
if "$PY" - "$TORCH_VERSION" "$TORCHVISION_VERSION" <<'PYEOF' 2>/dev/null
import sys, torch, torchvision
from torchvision.ops import nms  # fails when torchvision does not match torch
ok = (torch.__version__.split('+')[0] == sys.argv[1]
      and torchvision.__version__.split('+')[0] == sys.argv[2])
sys.exit(0 if ok else 1)
PYEOF
then
  echo "    already installed and importable"
else
  # The pair must come from the same index: a CPU-only torch with PyPI's torchvision fails at
  # import (`operator torchvision::nms does not exist`).  This machine's pip may also see a
  # local `torch-X+cpu` wheel; pinning the exact local-free version from the index avoids it.
  TORCH_ARGS=("torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION")
  if [ -n "$TORCH_INDEX_URL" ]; then
    "${PIP[@]}" install --index-url "$TORCH_INDEX_URL" "${TORCH_ARGS[@]}"
  else
    "${PIP[@]}" install "${TORCH_ARGS[@]}"
  fi
  "$PY" -c "import torch, torchvision; from torchvision.ops import nms; print('    torch', torch.__version__, 'torchvision', torchvision.__version__)"
fi

step "4/6 mmcv==$MMCV_VERSION with compiled ops for this torch"
TORCH_TAG="$("$PY" -c "import torch; print(torch.__version__.replace('+', '.'))")"
CUDA_TAG="$("$PY" -c "import torch; print('cu' if torch.cuda.is_available() or __import__('os').environ.get('FORCE_CUDA') == '1' else 'cpu')")"
if "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
  echo "    already installed and mmcv.ops imports"
else
  CACHE_DIR="$("${PIP[@]}" cache dir 2>/dev/null || echo "$HOME/.cache/pip")/mmris-mmcv/torch$TORCH_TAG-$CUDA_TAG"
  WHEEL="$(ls "$CACHE_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
  if [ -z "$WHEEL" ]; then
    echo "    compiling mmcv $MMCV_VERSION against torch $TORCH_TAG ($CUDA_TAG ops, MAX_JOBS=$MAX_JOBS); about 12 minutes on 2 cores"
    BUILD="$(mktemp -d)"
    "${PIP[@]}" download -q --no-deps --no-build-isolation --no-binary :all: -d "$BUILD" "mmcv==$MMCV_VERSION"
    tar -xzf "$BUILD"/mmcv-"$MMCV_VERSION".tar.gz -C "$BUILD"
    SRC="$BUILD/mmcv-$MMCV_VERSION"
    # torch >= 2.14's headers require C++20; mmcv 2.1.0 hard-codes -std=c++17.
    if "$PY" -c "import sys, torch; v = tuple(int(x) for x in torch.__version__.split('+')[0].split('.')[:2]); sys.exit(0 if v >= (2, 14) else 1)"; then
      sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
      echo "    raised the C++ standard to c++20 for torch >= 2.14"
    fi
    mkdir -p "$CACHE_DIR"
    (cd "$SRC" && MMCV_WITH_OPS=1 "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$CACHE_DIR" .)
    rm -rf "$BUILD"
    WHEEL="$(ls "$CACHE_DIR"/mmcv-"$MMCV_VERSION"-*.whl | head -n 1)"
  else
    echo "    reusing the wheel compiled earlier: $WHEEL"
  fi
  "${PIP[@]}" install "$WHEEL"
  "$PY" -c "import mmcv, mmcv.ops; print('    mmcv', mmcv.__version__, 'with ops')"
fi

step "5/6 mmris and the rest of the stack (pip install -e .[$MMRIS_EXTRAS])"
"${PIP[@]}" install -e "$ROOT[$MMRIS_EXTRAS]"

# EVF-SAM's parts that cannot come through setup.py (idempotent: pip skips installed ones):
# torchscale pins timm==0.6.13 and fairscale==0.4.0 (it imports only fairscale.nn and
# timm's drop_path, both present in current versions): no deps; sam2's build asks for torch
# in an isolated build env and compiles a CUDA extension: neither.
if [[ ",$MMRIS_EXTRAS," == *",tests,"* || ",$MMRIS_EXTRAS," == *",evf_sam,"* || ",$MMRIS_EXTRAS," == *",all,"* ]]; then
  "${PIP[@]}" install -q --no-deps "torchscale==0.3.0"
  SAM2_BUILD_CUDA=0 "${PIP[@]}" install -q --no-build-isolation "sam2==1.1.0"
fi

step "6/6 check"
"$PY" -c "import mmris, mmseg.models, mmpretrain.models, open_clip, mmcv.ops, pycocotools; print('    mmris', mmris.__version__, 'ready in $VENV')"
STEP="done"
