#!/usr/bin/env bash
# Install guardrails for CI from the files beside this script: the commit the action or
# the reusable workflow was called at. Never by name from a package index (whoever owns
# that name would run code in every catalog's CI, with its credentials).
#
#   guardrails="$(PYTHON=python3.12 bash scripts/ci-install.sh VENV)"
#
# Creates the virtual environment VENV (the caller's Python stays untouched), installs
# the dependencies pinned with their sha256 in requirements/ci.txt (wheels only: no
# package's build code runs), then guardrails itself without resolving anything, and
# checks nothing is missing. Prints the path of the `guardrails` command it installed.
set -euo pipefail
exec 3>&1 1>&2  # everything talks on stderr: stdout carries only the answer

source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:?usage: ci-install.sh VENV}"

"${PYTHON:-python3}" -m venv "$venv"
bin="$venv/bin"
if [ -d "$venv/Scripts" ]; then bin="$venv/Scripts"; fi  # Windows runners
pip=("$bin/python" -m pip --disable-pip-version-check --quiet --no-input)

"${pip[@]}" install --require-hashes --only-binary=:all: --no-compile -r "$source_dir/requirements/ci.txt"
"${pip[@]}" install --no-deps --no-build-isolation "$source_dir"
"${pip[@]}" check
"$bin/guardrails" --version >&2
echo "$bin/guardrails" >&3
