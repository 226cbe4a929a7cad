#!/usr/bin/env bash
# Executes every notebook in notebooks/ headlessly and fails if any cell fails.
#
#   scripts/run-notebooks.sh            # uses target/release/lbsim (built if missing)
#   LBSIM=/path/to/lbsim scripts/run-notebooks.sh
#
# Creates a virtual environment (NOTEBOOK_VENV, default target/notebook-venv) with the pinned
# versions of notebooks/requirements.txt; executed copies go to target/notebooks/ so the
# committed notebooks stay free of outputs.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${NOTEBOOK_VENV:-$repo/target/notebook-venv}"
out="$repo/target/notebooks"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$repo/notebooks/requirements.txt"
"$venv/bin/python" -m ipykernel install --prefix "$venv" --name python3 >/dev/null

export LBSIM="${LBSIM:-$repo/target/release/lbsim}"
if [ ! -x "$LBSIM" ]; then
    (cd "$repo" && cargo build --release)
fi
export JUPYTER_PATH="$venv/share/jupyter"
mkdir -p "$out"

"$venv/bin/python" - "$repo/notebooks" "$out" <<'PY'
import sys, time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

source, out = Path(sys.argv[1]), Path(sys.argv[2])
passed, failed = 0, 0
for path in sorted(source.glob("*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    start = time.monotonic()
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(source)}}).execute()
        passed += 1
        print(f"ok      {path.name} ({time.monotonic() - start:.1f}s)")
    except CellExecutionError as e:
        failed += 1
        print(f"FAILED  {path.name}\n{e}")
    nbformat.write(nb, out / path.name)
print(f"notebooks: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
