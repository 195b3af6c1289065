#!/usr/bin/env bash
# Create the benchmark virtualenv with the reference libraries (imitation 1.0.1, irl-maxent,
# stable-baselines3, minari) next to sklirl. These are NEVER sklirl requirements.
#
# Usage:  bash benchmarks/setup_bench_env.sh            # venv at $BENCH_VENV (default /work/bench-venv)
#         BENCH_VENV=/tmp/bv bash benchmarks/setup_bench_env.sh
#         BENCH_EXACT=1 bash benchmarks/setup_bench_env.sh   # install the recorded versions
#                                                             # (benchmarks/requirements-bench.txt)
# Re-running is safe: an existing venv is reused and brought up to date.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
BENCH_VENV="${BENCH_VENV:-/work/bench-venv}"
PYTHON="${PYTHON:-python3}"
CONSTRAINTS="$HERE/constraints.txt"
REQS="$HERE/requirements-bench.txt"

if [ ! -x "$BENCH_VENV/bin/python" ]; then
    echo ">> creating venv at $BENCH_VENV"
    "$PYTHON" -m venv "$BENCH_VENV"
fi
PY="$BENCH_VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check -c "$CONSTRAINTS")

"${PIP[@]}" --upgrade pip setuptools wheel

# 1. torch FIRST, pinned (the CPU wheel on this machine; unpinned would pull CUDA).
"${PIP[@]}" "torch==2.13.0"

# 2. the reference libraries (versions resolved through constraints.txt).
if [ "${BENCH_EXACT:-0}" = "1" ] && [ -f "$REQS" ]; then
    "${PIP[@]}" -r "$REQS"
else
    "${PIP[@]}" "imitation==1.0.1" "irl-maxent" "stable-baselines3" "gymnasium[classic-control]" \
        "minari" "scipy" "pandas" "pytest"
fi

# 3. sklirl itself, editable. --no-deps: sklirl's own requirements (numpy, scipy, scikit-learn)
#    are already satisfied by the pinned stack and must not move it. If the package cannot be built
#    yet (no pyproject, or sklirl/__init__.py without __version__), fall back to a .pth file that puts
#    the repo root on sys.path: the same effect as an editable install.
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
rm -f "$SITE/sklirl-repo.pth"
if ! "${PIP[@]}" --no-deps -e "$REPO"; then
    echo ">> 'pip install -e $REPO' failed: adding $REPO to sys.path via $SITE/sklirl-repo.pth"
    echo "$REPO" > "$SITE/sklirl-repo.pth"
fi

# 4. smoke test.
"$PY" - <<'PY'
import numpy, torch, gymnasium, stable_baselines3, imitation, irl_maxent, minari
from imitation.algorithms.mce_irl import MCEIRL
from imitation.algorithms.adversarial.gail import GAIL
print("numpy", numpy.__version__, "| torch", torch.__version__, "| gymnasium", gymnasium.__version__,
      "| sb3", stable_baselines3.__version__, "| imitation", imitation.__version__,
      "| minari", minari.__version__, "| irl_maxent ok")
PY
echo ">> bench venv ready: $BENCH_VENV  (activate: source $BENCH_VENV/bin/activate)"
