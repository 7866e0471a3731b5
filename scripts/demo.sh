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

# --- Discovery: the SaaS in use that the catalog does not know. ---
# The sample estate holds one export per source kind, as each vendor's API returns it:
# Google Workspace tokens and token activity, Entra ID (Graph), Okta, IAM Identity
# Center, and a card export (CSV). Two shadow tools block (full Drive / full mailbox
# access granted to undeclared apps) and one by its spend: expect exit 1.
DISCOVERY=$(mktemp -d)
step "guardrails discover -C examples --from <each source>=examples/estate/... --write-drafts drafts/   (shadow IT, unused tools, people beyond manifests)"
$GR discover -C examples --now "$NOW" \
  --from google=examples/estate/google --from entra=examples/estate/entra \
  --from okta=examples/estate/okta --from identity-center=examples/estate/identity-center \
  --from expenses=examples/estate/expenses --write-drafts "$DISCOVERY/drafts"; code=$?
echo "exit code: $code"
[ "$code" -eq 1 ] || { echo "demo: discovery should block on the sample estate" >&2; exit 1; }
step "drafts written (one per undeclared tool; each fails check until its owner completes it)"
ls "$DISCOVERY/drafts"
sed -n '2,5p' "$DISCOVERY/drafts/typeform.yaml"
echo "prefilled from the evidence:"
(cd "$DISCOVERY/drafts" && grep -H -E "title:|website:|paid by|seen using it|annual:" notion.yaml typeform.yaml)
# The same discovery as JSON feeds the report's shadow-IT section (exit 1: it blocks).
$GR discover -C examples --now "$NOW" \
  --from google=examples/estate/google --from entra=examples/estate/entra \
  --from okta=examples/estate/okta --from identity-center=examples/estate/identity-center \
  --from expenses=examples/estate/expenses --format json -o "$DISCOVERY/discovered.json" || true
step "guardrails report examples --discovery discovered.json   (the CIO-CMO view: one self-contained HTML page)"
mkdir -p build
$GR report examples --now "$NOW" --discovery "$DISCOVERY/discovered.json" -o build/report.html; code=$?
rm -rf "$DISCOVERY"
[ "$code" -eq 0 ] && [ -s build/report.html ] || { echo "demo: the report was not written (exit $code)" >&2; exit 1; }
echo "report: $(pwd)/build/report.html   (open it in a browser; --format markdown|csv|json for the rest)"

# --- Provisioning: sandbox -> plan -> apply -> apply again -> a user removed -> apply. ---
# Everything runs on a copy of examples/ in a temp dir, against the local sandbox: no
# cloud account. What is real and what is a stand-in: docs/provisioning.md.
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
LOG="$WORK/output.log"
fail() { echo "demo: $*" >&2; exit 1; }
# Every SCIM token variable IT bound (policies/data/provisioning.yaml) gets a fresh random
# value: the sandbox's SCIM tenants accept it, plan/apply send it. It must never be
# printed or written.
TOKENS=()
for var in $(sed -n 's/^ *token_env: *\([A-Za-z_][A-Za-z0-9_]*\) *$/\1/p' "$CAT"/policies/data/*.y*ml | sort -u); do
  value="sandbox-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  export "$var=$value"; TOKENS+=("$value")
done
# plan/apply use the sandbox only when asked (--sandbox), after checking it is this one.
run() { "$GR" "$@" -C "$CAT" --now "$NOW" --sandbox 2>&1 | tee -a "$LOG"; return "${PIPESTATUS[0]}"; }

step "guardrails sandbox -C \$CATALOG &   (loopback: moto for identitystore, an in-memory stand-in for the sso-admin application APIs moto lacks, scim2-server for SCIM; seeded from directory.yaml)"
$GR sandbox -C "$CAT" & SANDBOX_PID=$!
for _ in $(seq 1 150); do [ -f "$CAT/.guardrails/sandbox.json" ] && break; sleep 0.2; done
[ -f "$CAT/.guardrails/sandbox.json" ] || fail "the sandbox did not start"

step "guardrails plan --out plan.json   (what apply would do, per tool and per person)"
run plan --out "$WORK/plan.json" || fail "plan failed"

step "guardrails apply plan.json --stats   (exactly that plan)"
run apply "$WORK/plan.json" --stats || fail "apply failed"

step "guardrails apply --auto-approve --stats   (again: nothing to do, no write call)"
run apply --auto-approve --stats || fail "second apply failed"
tail -n 1 "$LOG" | grep -q "^total: [0-9]* calls, 0 writes " || fail "the second apply should make no write call"

step "alice@example.com removed from manifests/hubspot.yaml (in the copy)"
sed -i.orig 's/^    users: \[alice@example.com\]$/    users: []/' "$CAT/manifests/hubspot.yaml"
diff -u "$CAT/manifests/hubspot.yaml.orig" "$CAT/manifests/hubspot.yaml"
rm -f "$CAT/manifests/hubspot.yaml.orig"

step "guardrails apply --auto-approve   (access revoked: group membership removed, SCIM user deactivated)"
run apply --auto-approve || fail "revoking apply failed"
grep -q "done: - hubspot identity-center: remove alice@example.com from saas-hubspot" "$LOG" \
  || fail "alice should have lost HubSpot"

step "manifests/hubspot.yaml removed (in the copy): a SCIM tool gone"
rm "$CAT/manifests/hubspot.yaml"

step "guardrails apply --auto-approve   (its groups and assignments removed, its SCIM accounts deactivated: IT's binding knows where, and with which token; salesforce and zoom, which send data to hubspot, are now blocked: exit 1, nothing new granted to them)"
run apply --auto-approve; code=$?
[ "$code" -eq 1 ] || fail "removing apply: expected exit 1 (the tools integrating with hubspot are blocked), got $code"
grep -q "done: - hubspot scim: deactivate user jane.doe@example.com (active: false)" "$LOG" \
  || fail "hubspot's SCIM accounts should have been deactivated"
grep -q "done: - hubspot identity-center: delete group saas-hubspot" "$LOG" \
  || fail "hubspot's group should have been deleted"

step "audit log ($CAT/.guardrails/audit.jsonl), last 3 lines"
tail -n 3 "$CAT/.guardrails/audit.jsonl"
for token in "${TOKENS[@]}"; do
  grep -qF "$token" "$LOG" "$WORK/plan.json" "$CAT/.guardrails/audit.jsonl" && fail "a SCIM token leaked"
done
echo "(no SCIM token in the output, the plan file or the audit log)"

step "stopping the sandbox"
kill "$SANDBOX_PID"; wait "$SANDBOX_PID"; SANDBOX_PID=
echo "demo: done"
