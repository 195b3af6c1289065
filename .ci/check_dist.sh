#!/usr/bin/env bash
# Build the sdist and the wheel as a release would, check them, and run the quickstart from
# the wheel installed in a fresh virtual environment (outside the checkout).
#
#   bash .ci/check_dist.sh            # needs the test extra (build, twine) and network access
#                                     # for build's isolated environment (setuptools)
#
# The venv reuses the system site packages (numpy, scipy, scikit-learn, torch, matplotlib are
# not reinstalled), but sklirl itself is imported from the wheel: the script checks that.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python -m build --outdir "$work/dist" . > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
sdist=$(ls "$work"/dist/sklirl-*.tar.gz)
wheel=$(ls "$work"/dist/sklirl-*.whl)
python -m twine check --strict "$sdist" "$wheel"

# The sdist holds every tracked file but the CI and git plumbing; the wheel every module.
python - "$sdist" "$wheel" <<'EOF'
import subprocess, sys, tarfile, zipfile
sdist, wheel = sys.argv[1:]
tracked = set(subprocess.run(["git", "ls-files"], capture_output=True, text=True,
                             check=True).stdout.split())
# git ls-files lists deleted-but-uncommitted files too; keep the ones that exist
import os
tracked = {p for p in tracked if os.path.exists(p)}
expected = {p for p in tracked if not p.startswith((".ci/", ".git"))}
with tarfile.open(sdist) as tar:
    prefix = tar.getnames()[0].split("/")[0] + "/"
    in_sdist = {n[len(prefix):] for n in tar.getnames() if tar.getmember(n).isfile()}
missing = sorted(expected - in_sdist)
assert not missing, f"the sdist lacks tracked files: {missing}"
modules = {p for p in tracked if p.startswith("sklirl/") and p.endswith(".py")}
with zipfile.ZipFile(wheel) as zf:
    in_wheel = set(zf.namelist())
missing = sorted(modules - in_wheel)
assert not missing, f"the wheel lacks modules: {missing}"
extra = sorted(n for n in in_wheel if not n.startswith(("sklirl/", "sklirl-")))
assert not extra, f"the wheel installs files outside the package: {extra}"
print(f"sdist: {len(in_sdist)} files, all {len(expected)} tracked ones; "
      f"wheel: all {len(modules)} modules")
EOF

python -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install -q --no-index --no-deps --ignore-installed "$wheel"
# Every requirement of the wheel is met in the venv (pip check names unmet ones).
if "$work/venv/bin/python" -m pip check | grep -i "^sklirl "; then
    echo "the wheel's requirements are not met" >&2
    exit 1
fi
cd "$work"  # away from the checkout, so that `import sklirl` cannot find the source tree
"$work/venv/bin/python" - "$work/venv" "$root" <<'EOF'
import sys
from pathlib import Path
import sklirl
venv, root = map(Path, sys.argv[1:])
where = Path(sklirl.__file__).resolve()
assert venv.resolve() in where.parents, f"sklirl imported from {where}, not from the wheel"
print(f"sklirl {sklirl.__version__} imported from the wheel: {where}")
EOF
PYTHONPATH= "$work/venv/bin/python" -m sklirl.quickstart --output "$work/quickstart_rewards.png"
test -s "$work/quickstart_rewards.png"
echo "dist check passed: sdist and wheel built, twine check clean, quickstart ran from the wheel"
