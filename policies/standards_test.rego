# Tests of policies/standards.rego: a passing and a failing case for every rule.
package guardrails.policies.standards_test

import data.guardrails.policies.standards
import data.guardrails.testing as t
import rego.v1

rules(manifest) := {v.rule | some v in violations} if {
	violations := standards.violation with input as t.alone(manifest)
}

of_rule(input_document, rule) := [v | some v in violations; v.rule == rule] if {
	violations := standards.violation with input as input_document
}

flow(tool, direction, data_categories) := {"tool": tool, "direction": direction, "data": data_categories}

# A catalog of `sender` and a `receiver` tool with the given data spec.
pair(sender_flows, receiver_data) := t.catalog({
	"sender": t.with_spec({"integrations": sender_flows}),
	"receiver": t.with_spec({"data": receiver_data}),
})

test_compliant_tool_has_no_standards_finding if {
	rules(t.tool) == set()
}

# --- STD-OWNER-TEAM

test_std_owner_team_fires_for_an_unknown_team if {
	[v] := of_rule(t.alone(t.with_metadata({"team": "growth-hacking"})), "STD-OWNER-TEAM")
	v.path == ["metadata", "team"]
}

test_std_owner_team_fires_for_a_shared_mailbox if {
	[v] := of_rule(t.alone(t.with_metadata({"owner": "Marketing@example.com"})), "STD-OWNER-TEAM")
	v.path == ["metadata", "owner"]
}

test_std_owner_team_passes_for_a_person_in_a_known_team if {
	not "STD-OWNER-TEAM" in rules(t.with_metadata({"owner": "marketing.lead@example.com", "team": "brand"}))
}

test_std_owner_team_accepts_any_team_when_none_is_listed if {
	found := {v.rule | some v in standards.violation} with input as t.alone(t.with_metadata({"team": "anything"}))
		with data.guardrails.standards.teams as []
	not "STD-OWNER-TEAM" in found
}

# --- STD-INTEGRATION-UNKNOWN

test_std_integration_unknown_fires_for_an_undeclared_tool if {
	[v] := of_rule(t.alone(t.with_spec({"integrations": [flow("mailchimp", "outbound", [])]})), "STD-INTEGRATION-UNKNOWN")
	v.path == ["spec", "integrations", 0, "tool"]
}

test_std_integration_unknown_passes_for_an_external_tool if {
	integration := object.union(flow("zapier", "outbound", []), {"external": true})
	not "STD-INTEGRATION-UNKNOWN" in rules(t.with_spec({"integrations": [integration]}))
}

test_std_integration_unknown_passes_for_a_catalog_tool if {
	catalog := pair([flow("receiver", "outbound", [])], {})
	of_rule(catalog, "STD-INTEGRATION-UNKNOWN") == []
}

test_std_integration_unknown_passes_for_a_schema_invalid_catalog_tool if {
	catalog := object.union(t.alone(t.with_spec({"integrations": [flow("broken", "outbound", [])]})), {"invalid": {"broken": {}}})
	of_rule(catalog, "STD-INTEGRATION-UNKNOWN") == []
}

test_std_integration_unknown_passes_for_a_tool_known_only_by_name if {
	# Evaluated in parts, the catalog's other tools are known by name (input.names).
	alone := t.alone(t.with_spec({"integrations": [flow("elsewhere", "outbound", [])]}))
	catalog := object.union(alone, {"names": ["elsewhere", "tool"]})
	of_rule(catalog, "STD-INTEGRATION-UNKNOWN") == []
}

# --- STD-PERSONAL-DATA-FLOW

test_std_personal_data_flow_fires_for_a_receiver_only_looked_up if {
	# Evaluated in parts, a receiver in another part is a neighbour: looked up, not judged.
	sender := t.with_spec({"integrations": [flow("receiver", "outbound", ["personal.contact"])]})
	receiver := t.with_spec({"data": {"categories": ["brand-assets"]}})
	catalog := object.union(t.catalog({"sender": sender}), {"neighbours": {"receiver": receiver}})
	[v] := of_rule(catalog, "STD-PERSONAL-DATA-FLOW")
	v.manifest == "sender"
}

test_std_personal_data_flow_fires_when_the_receiver_does_not_declare_it if {
	catalog := pair([flow("receiver", "outbound", ["personal.contact"])], {"categories": ["brand-assets"]})
	[v] := of_rule(catalog, "STD-PERSONAL-DATA-FLOW")
	v.message == "personal.contact flows to receiver, whose manifest does not declare that category"
	v.path == ["spec", "integrations", 0, "data", 0]
}

test_std_personal_data_flow_fires_when_the_receiver_is_public if {
	catalog := pair([flow("receiver", "bidirectional", ["personal.contact"])], {"classification": "public"})
	[v] := of_rule(catalog, "STD-PERSONAL-DATA-FLOW")
	v.message == "personal.contact flows to receiver, whose classification is public"
}

test_std_personal_data_flow_fires_for_an_inbound_flow_this_tool_does_not_declare if {
	manifest := t.with_spec({"integrations": [flow("receiver", "inbound", ["personal.financial"])]})
	catalog := t.catalog({"sender": manifest, "receiver": t.tool})
	[v] := of_rule(catalog, "STD-PERSONAL-DATA-FLOW")
	v.message == "personal.financial flows to sender, whose manifest does not declare that category"
}

test_std_personal_data_flow_passes_when_the_receiver_declares_it if {
	catalog := pair([flow("receiver", "outbound", ["personal.contact"])], {"categories": ["personal.contact"]})
	of_rule(catalog, "STD-PERSONAL-DATA-FLOW") == []
}

test_std_personal_data_flow_passes_for_non_personal_data if {
	catalog := pair([flow("receiver", "outbound", ["campaign-metrics"])], {"classification": "public"})
	of_rule(catalog, "STD-PERSONAL-DATA-FLOW") == []
}

# --- STD-STANDARD-TOOL

test_std_standard_tool_fires_for_a_second_crm if {
	[v] := of_rule(t.alone(t.with_spec({"capabilities": ["webinars", "crm"]})), "STD-STANDARD-TOOL")
	v.message == "crm is already covered by the standard tool 'salesforce'"
	v.path == ["spec", "capabilities", 1]
}

test_std_standard_tool_passes_for_the_standard_itself if {
	catalog := t.catalog({"salesforce": t.with_spec({"capabilities": ["crm"]})})
	of_rule(catalog, "STD-STANDARD-TOOL") == []
}

test_std_standard_tool_passes_for_other_capabilities if {
	not "STD-STANDARD-TOOL" in rules(t.tool)
}
