# Tests of policies/provisioning.rego: a passing and a failing case for every rule.
package guardrails.policies.provisioning_test

import data.guardrails.policies.provisioning
import data.guardrails.testing as t
import rego.v1

# IT's bindings in these tests: `tool` (the testing fixture's name) and `hubspot`.
it_bound := {"provisioning": {"bindings": {
	"tool": {
		"identity_center": {"application": "Webinars"},
		"scim": {"url": "https://api.webinars.example/scim/v2", "token_env": "WEBINARS_SCIM_TOKEN"},
	},
	"hubspot": {"identity_center": {"application": "HubSpot", "admin_group": true}},
}}}

asking(provisioning) := t.with_spec({"provisioning": provisioning})

# The violations of a check of `catalog` (name -> manifest) under it_bound.
judged(catalog) := found if {
	found := provisioning.violation with input as t.catalog(catalog)
		with data.guardrails.provisioning as it_bound.provisioning
}

violations(manifest) := judged({"tool": manifest})

of_rule(manifest, rule) := [v | some v in violations(manifest); v.rule == rule]

own := {
	"identity_center": {"application": "Webinars"},
	"scim": {"url": "https://api.webinars.example/scim/v2/"},
}

test_compliant_tool_has_no_provisioning_finding if {
	count(violations(t.tool)) == 0
}

# --- SEC-PROVISIONING-BINDING

test_sec_provisioning_binding_passes_for_the_tools_own_bindings if {
	of_rule(asking(own), "SEC-PROVISIONING-BINDING") == []
}

test_sec_provisioning_binding_fires_for_another_tools_application if {
	[v] := of_rule(asking({"identity_center": {"application": "HubSpot"}}), "SEC-PROVISIONING-BINDING")
	v.path == ["spec", "provisioning", "identity_center", "application"]
	contains(v.message, "is bound to hubspot, not to tool")
}

test_sec_provisioning_binding_fires_for_an_unbound_application if {
	[v] := of_rule(asking({"identity_center": {"application": "Zoom"}}), "SEC-PROVISIONING-BINDING")
	contains(v.message, "not the one IT bound to tool")
}

test_sec_provisioning_binding_fires_for_an_unbound_scim_url if {
	manifest := asking({"scim": {"url": "http://127.0.0.1:9999/scim/v2"}})
	[v] := of_rule(manifest, "SEC-PROVISIONING-BINDING")
	v.path == ["spec", "provisioning", "scim", "url"]
}

test_sec_provisioning_binding_fires_for_a_tool_with_no_binding if {
	manifest := object.union(asking(own), {"metadata": {"name": "notes"}})
	found := [v.path | some v in judged({"notes": manifest}); v.rule == "SEC-PROVISIONING-BINDING"]
	count(found) == 2
	["spec", "provisioning", "identity_center", "application"] in found
	["spec", "provisioning", "scim", "url"] in found
}

# --- SEC-PROVISIONING-TOKEN

test_sec_provisioning_token_fires_for_a_token_variable if {
	manifest := asking({"scim": {"url": "https://api.webinars.example/scim/v2", "token_env": "AWS_SECRET_ACCESS_KEY"}})
	[v] := of_rule(manifest, "SEC-PROVISIONING-TOKEN")
	v.path == ["spec", "provisioning", "scim", "token_env"]
}

test_sec_provisioning_token_fires_in_a_manifest_that_breaks_the_schema if {
	manifest := asking({"scim": {"token_env": "GITHUB_TOKEN"}})
	found := provisioning.violation with input as {"now": t.now, "manifests": {}, "invalid": {"tool": manifest}}
	[v.rule | some v in found] == ["SEC-PROVISIONING-TOKEN"]
}

test_sec_provisioning_token_passes_without_one if {
	of_rule(asking(own), "SEC-PROVISIONING-TOKEN") == []
}

# --- ACC-ADMINS-NO-RIGHTS

test_acc_admins_no_rights_fires_without_an_admin_group if {
	[v] := of_rule(asking(own), "ACC-ADMINS-NO-RIGHTS")
	v.path == ["spec", "access", "admins"]
}

test_acc_admins_no_rights_passes_with_an_admin_group if {
	manifest := object.union(asking({"identity_center": {"application": "HubSpot"}}), {"metadata": {"name": "hubspot"}})
	judged({"hubspot": manifest}) == set()
}

test_acc_admins_no_rights_passes_without_provisioning if {
	of_rule(t.tool, "ACC-ADMINS-NO-RIGHTS") == []
}

test_acc_admins_no_rights_passes_when_nothing_is_bound if {
	manifest := object.union(asking(own), {"metadata": {"name": "notes"}})
	[v.rule | some v in judged({"notes": manifest}); v.rule == "ACC-ADMINS-NO-RIGHTS"] == []
}
