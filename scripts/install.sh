#!/usr/bin/env bash
# Creates .venv and installs drumgen into it (editable). With --test, also the test tools and the Debian programs
# the tests drive (chromium, hydrogen, fluidsynth, fluid-soundfont-gm, libxml2-utils).
# Sourced by run-app.sh and run-tests.sh; safe to run again (it only installs what is missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "drumgen: $1 is missing; install it with: sudo apt-get install -y $2" >&2
    exit 1
  fi
}

if [ ! -x .venv/bin/python ]; then
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" 2>/dev/null; then
    need_root "python3-venv" "python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
  fi
  python3 -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --disable-pip-version-check -q)
# torch first and pinned: 2.13.0 is the CPU build on this project's machines; an unpinned torch can pull a
# multi-GB CUDA build. Override with DRUMGEN_TORCH="torch==X" if you want another one.
"${PIP[@]}" "${DRUMGEN_TORCH:-torch==2.13.0}"
if [ "${1:-}" = "--test" ]; then
  "${PIP[@]}" -e ".[test]"
  # Debian packages the tests drive: chromium (browser tests); hydrogen, fluidsynth + fluid-soundfont-gm and
  # libxml2-utils (tests/test_kit_players.py plays and validates the exported kit). One apt-get update for all.
  # hydrogen pulls hydrogen-data: its kits are never read by the tests and must never be used for training.
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v h2cli >/dev/null || missing+=(hydrogen)
  command -v fluidsynth >/dev/null || missing+=(fluidsynth)
  [ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || missing+=(fluid-soundfont-gm)
  command -v xmllint >/dev/null || missing+=(libxml2-utils)
  if [ "${#missing[@]}" -gt 0 ]; then
    need_root "the test programs (${missing[*]})" "${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
else
  "${PIP[@]}" -e .
fi
