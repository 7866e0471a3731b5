# Tests of policies/discovery.rego: a passing and a failing case for every rule.
package guardrails.discovered.tools_test

import data.guardrails.discovered.tools
import rego.v1

shadow := {
	"title": "Acme Notes", "in_catalog": false, "people": 3, "users": 3, "everyone": false,
	"sources": ["google"], "scopes": [], "spend": null, "unlisted": [],
	"first_seen": "2026-01-05", "last_seen": "2026-11-01",
}

declared := object.union(shadow, {"title": "HubSpot", "in_catalog": true})

found(tool, sources) := {"now": "2026-11-22", "identity_sources": sources, "tools": {"acme-notes": tool}}

of_rule(tool, rule) := [v | some v in violations; v.rule == rule] if {
	violations := tools.violation with input as found(tool, ["google"])
}

rules(tool) := {v.rule | some v in violations} if {
	violations := tools.violation with input as found(tool, ["google"])
}

# --- STD-UNDECLARED-TOOL

test_std_undeclared_tool_fires_for_a_tool_without_manifest if {
	[v] := of_rule(shadow, "STD-UNDECLARED-TOOL")
	v.manifest == "acme-notes"
	v.message == "Acme Notes is in use by 3 people, seen in google, but no manifest declares it"
}

test_std_undeclared_tool_fires_with_admin_consent_for_everyone if {
	[v] := of_rule(object.union(shadow, {"everyone": true}), "STD-UNDECLARED-TOOL")
	contains(v.message, "everyone")
}

test_std_undeclared_tool_passes_for_a_catalog_tool if {
	not "STD-UNDECLARED-TOOL" in rules(declared)
}

# --- SEC-SHADOW-DATA-ACCESS

mailbox := {"scope": "https://mail.google.com/", "risk": "critical", "access": "read, send and delete all mail", "people": 1}

calendar := {"scope": "https://www.googleapis.com/auth/calendar.readonly", "risk": "medium", "access": "read calendars", "people": 1}

test_sec_shadow_data_access_fires_for_full_mailbox_access if {
	[v] := of_rule(object.union(shadow, {"scopes": [calendar, mailbox]}), "SEC-SHADOW-DATA-ACCESS")
	v.path == ["scopes", 1]
	contains(v.message, "https://mail.google.com/")
}

test_sec_shadow_data_access_passes_for_a_low_risk_scope if {
	not "SEC-SHADOW-DATA-ACCESS" in rules(object.union(shadow, {"scopes": [calendar]}))
}

test_sec_shadow_data_access_passes_for_a_declared_tool if {
	not "SEC-SHADOW-DATA-ACCESS" in rules(object.union(declared, {"scopes": [mailbox]}))
}

test_sec_shadow_data_access_follows_the_blocking_risks_in_data if {
	violations := tools.violation with input as found(object.union(shadow, {"scopes": [calendar]}), ["google"])
		with data.guardrails.discovery.blocking_risks as ["critical", "medium"]
	"SEC-SHADOW-DATA-ACCESS" in {v.rule | some v in violations}
}

# --- COST-UNDECLARED-SPEND

test_cost_undeclared_spend_fires_above_the_threshold if {
	[v] := of_rule(object.union(shadow, {"spend": {"amount": 2400.5, "currency": "USD"}}), "COST-UNDECLARED-SPEND")
	v.path == ["spend"]
}

test_cost_undeclared_spend_passes_below_the_threshold if {
	not "COST-UNDECLARED-SPEND" in rules(object.union(shadow, {"spend": {"amount": 120, "currency": "USD"}}))
}

# --- ACC-UNLISTED-USERS

test_acc_unlisted_users_fires_for_people_beyond_the_manifest if {
	[v] := of_rule(object.union(declared, {"unlisted": ["bob@example.com"]}), "ACC-UNLISTED-USERS")
	v.message == "HubSpot is used by people its manifest does not grant access: bob@example.com"
}

test_acc_unlisted_users_passes_when_everyone_is_listed if {
	not "ACC-UNLISTED-USERS" in rules(declared)
}

# --- COST-UNUSED-TOOL

test_cost_unused_tool_fires_for_a_catalog_tool_nobody_uses if {
	[v] := of_rule(object.union(declared, {"people": 0, "users": 0, "sources": []}), "COST-UNUSED-TOOL")
	v.message == "HubSpot is in the catalog, but google show nobody using it"
}

test_cost_unused_tool_fires_when_people_only_pay_for_it if {
	[_] := of_rule(object.union(declared, {"people": 2, "users": 0, "sources": ["expenses"]}), "COST-UNUSED-TOOL")
}

test_cost_unused_tool_passes_when_people_use_it if {
	not "COST-UNUSED-TOOL" in rules(declared)
}

test_cost_unused_tool_passes_when_only_expenses_were_read if {
	violations := tools.violation with input as found(object.union(declared, {"people": 0, "users": 0}), [])
	not "COST-UNUSED-TOOL" in {v.rule | some v in violations}
}
