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
echo "docs built in $(pwd)/_build/html/index.html"
