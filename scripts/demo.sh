#!/usr/bin/env bash
# The demo `make demo` runs: a compliant catalog passes, a bad one is blocked with reasons.
# Dates are pinned (--now) so the story reads the same every day.
set -uo pipefail
cd "$(dirname "$0")/.."
GR=.venv/bin/guardrails
NOW=2026-11-22

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "guardrails check examples   (the approved catalog: expect exit 0)"
$GR check examples --now "$NOW"; code=$?
echo "exit code: $code"
[ "$code" -eq 0 ] || { echo "demo: the compliant catalog should pass" >&2; exit 1; }

step "guardrails check examples/bad   (one broken manifest per rule: expect exit 1)"
$GR check examples/bad --now "$NOW"; code=$?
echo "exit code: $code"
[ "$code" -eq 1 ] || { echo "demo: the bad catalog should be blocked" >&2; exit 1; }
