#!/usr/bin/env bash
# Build the HTML docs with warnings as errors. Run from anywhere:
#   docs/build.sh            # every gallery example executed, the long ones in fast mode
#   SKLIRL_GALLERY_FULL=1 docs/build.sh      # the long ones in full too (minutes)
# Needs the docs extra and, to execute the examples, the test extras:
#   pip install -c constraints.txt -e ".[test,docs]"
set -euo pipefail
cd "$(dirname "$0")"
export MPLBACKEND=Agg
rm -rf _build auto_examples generated sg_execution_times.rst
python -m sphinx -W --keep-going -b html -j 1 . _build/html
# The pages must work offline (a cluster node, the HTML opened from disk): no page may load a
# script or a stylesheet from the network (MathJax is shipped in _static/mathjax).
python - <<'PY'
import pathlib, re, sys
remote = re.compile(r"<(?:script[^>]*\ssrc|link[^>]*\shref)=[\"'](?:https?:)?//", re.I)
bad = [str(p) for p in pathlib.Path("_build/html").rglob("*.html") if remote.search(p.read_text())]
if bad:
    sys.exit("pages that load scripts or stylesheets from the network: " + ", ".join(bad))
PY
echo "docs built in $(pwd)/_build/html/index.html"
