#!/usr/bin/env bash
# Tests the interactive HTML report in a real headless browser (Chromium from Debian):
# sweeps three examples (a load sweep, a two-axis grid, an experiment without [sweep]) and
# checks each report.html at 1100 px and 390 px with scripts/browser-test.py (no console
# error, every chart drawn, no sideways overflow, toggles, log switch and slice selector).
#
#   scripts/browser-test.sh             # installs chromium (as root) if missing
#   scripts/browser-test.sh --screenshot docs/images/interactive_report.png
#
# Python's websockets (pinned in scripts/browser-test-requirements.txt) goes into a virtual
# environment (BROWSER_VENV, default target/browser-venv).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${BROWSER_VENV:-$repo/target/browser-venv}"

chromium="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$chromium" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "browser-test: chromium is not installed (as root: apt-get install -y chromium)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    chromium="$(command -v chromium)"
fi
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$repo/scripts/browser-test-requirements.txt"

lbsim="${LBSIM:-$repo/target/release/lbsim}"
if [ ! -x "$lbsim" ]; then
    (cd "$repo" && cargo build --release)
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for name in seed_nginx_gunicorn heavy_tail mm4; do
    "$lbsim" sweep "$repo/experiments/$name.toml" --out "$out/$name" --quiet
done
if [ "${1:-}" = "--screenshot" ]; then
    "$venv/bin/python" "$repo/scripts/browser-test.py" "$chromium" "$out/heavy_tail/report.html" --screenshot "$2"
    exit 0
fi
"$venv/bin/python" "$repo/scripts/browser-test.py" "$chromium" \
    "$out/seed_nginx_gunicorn/report.html" "$out/heavy_tail/report.html" "$out/mm4/report.html"
