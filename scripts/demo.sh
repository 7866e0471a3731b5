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

# --- Provisioning: plan -> apply -> apply again -> a user removed -> apply (revoked). ---
# Everything runs on a copy of examples/ in a temp dir, against the local sandbox
# (moto for AWS IAM Identity Center, scim2-server for SCIM): no cloud account.
WORK=$(mktemp -d)
SANDBOX_PID=
cleanup() {
  [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null && wait "$SANDBOX_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
cp -R examples "$WORK/catalog"
rm -rf "$WORK/catalog/bad" "$WORK/catalog/.guardrails"
CAT="$WORK/catalog"
# The sandbox's SCIM endpoint accepts this token; plan/apply read it from the variable
# the hubspot manifest names. It is never printed.
export HUBSPOT_SCIM_TOKEN="sandbox-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
fail() { echo "demo: $*" >&2; exit 1; }

step "guardrails sandbox -C \$CATALOG &   (moto + scim2-server on loopback, seeded from directory.yaml)"
$GR sandbox -C "$CAT" & SANDBOX_PID=$!
for _ in $(seq 1 150); do [ -f "$CAT/.guardrails/sandbox.json" ] && break; sleep 0.2; done
[ -f "$CAT/.guardrails/sandbox.json" ] || fail "the sandbox did not start"

step "guardrails plan --out plan.json   (what apply would do, per tool and per person)"
$GR plan -C "$CAT" --now "$NOW" --out "$WORK/plan.json" || fail "plan failed"

step "guardrails apply plan.json --stats   (exactly that plan)"
$GR apply "$WORK/plan.json" -C "$CAT" --now "$NOW" --stats || fail "apply failed"

step "guardrails apply --auto-approve --stats   (again: nothing to do, no write call)"
out=$($GR apply -C "$CAT" --now "$NOW" --auto-approve --stats) || fail "second apply failed"
echo "$out"
echo "$out" | grep -q "^total: .*, 0 writes" || fail "the second apply should make no write call"

step "alice@example.com removed from manifests/hubspot.yaml (in the copy)"
sed -i.orig 's/^    users: \[alice@example.com\]$/    users: []/' "$CAT/manifests/hubspot.yaml"
diff -u "$CAT/manifests/hubspot.yaml.orig" "$CAT/manifests/hubspot.yaml"
rm -f "$CAT/manifests/hubspot.yaml.orig"

step "guardrails apply --auto-approve   (access revoked: group membership removed, SCIM user deactivated)"
$GR apply -C "$CAT" --now "$NOW" --auto-approve || fail "revoking apply failed"

step "audit log ($CAT/.guardrails/audit.jsonl), last 3 lines"
tail -n 3 "$CAT/.guardrails/audit.jsonl"
grep -q "$HUBSPOT_SCIM_TOKEN" "$CAT/.guardrails/audit.jsonl" "$WORK/plan.json" && fail "token leaked"

step "stopping the sandbox"
kill "$SANDBOX_PID"; wait "$SANDBOX_PID"; SANDBOX_PID=
echo "demo: done"
