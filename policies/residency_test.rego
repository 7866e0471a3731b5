# Tests of policies/residency.rego: a passing and a failing case for every rule.
package guardrails.policies.residency_test

import data.guardrails.policies.residency
import data.guardrails.testing as t
import rego.v1

rules(manifest) := {v.rule | some v in violations} if {
	violations := residency.violation with input as t.alone(manifest)
}

of_rule(manifest, rule) := [v | some v in violations; v.rule == rule] if {
	violations := residency.violation with input as t.alone(manifest)
}

test_compliant_tool_has_no_residency_finding if {
	rules(t.tool) == set()
}

# --- RES-PERSONAL-DATA-LOCATION

test_res_personal_data_location_fires_for_global if {
	[v] := of_rule(t.with_spec({"data": {"residency": ["eu", "global"]}}), "RES-PERSONAL-DATA-LOCATION")
	v.path == ["spec", "data", "residency", 1]
	v.message == "personal data (personal.contact) may not be stored in 'global'; allowed for confidential data: eu, uk, us"
}

test_res_personal_data_location_restricted_data_stays_in_the_eu if {
	[v] := of_rule(t.with_spec({"data": {"classification": "restricted", "residency": ["eu", "uk"]}}), "RES-PERSONAL-DATA-LOCATION")
	v.path == ["spec", "data", "residency", 1]
}

test_res_personal_data_location_passes_in_the_us if {
	not "RES-PERSONAL-DATA-LOCATION" in rules(t.with_spec({"data": {"residency": ["us", "uk"]}}))
}

test_res_personal_data_location_passes_without_personal_data if {
	not "RES-PERSONAL-DATA-LOCATION" in rules(t.with_spec({"data": {"categories": ["brand-assets"], "residency": ["global"]}}))
}

# --- RES-CATEGORY-LOCATION

test_res_category_location_fires_for_financial_data_in_the_us if {
	manifest := t.with_spec({"data": {"categories": ["personal.financial"], "residency": ["eu", "us"]}})
	[v] := of_rule(manifest, "RES-CATEGORY-LOCATION")
	v.message == "personal.financial data may only be stored in eu, uk, not in 'us'"
}

test_res_category_location_passes_for_financial_data_in_the_uk if {
	manifest := t.with_spec({"data": {"categories": ["personal.financial"], "residency": ["uk"]}})
	not "RES-CATEGORY-LOCATION" in rules(manifest)
}

test_res_category_location_passes_for_contact_data_in_the_us if {
	not "RES-CATEGORY-LOCATION" in rules(t.with_spec({"data": {"residency": ["us"]}}))
}

# --- RES-DPA-REQUIRED

test_res_dpa_required_fires_when_not_signed if {
	[v] := of_rule(t.with_spec({"vendor": {"dpa_signed": false}}), "RES-DPA-REQUIRED")
	v.path == ["spec", "vendor", "dpa_signed"]
}

test_res_dpa_required_fires_when_not_declared if {
	"RES-DPA-REQUIRED" in rules(t.with_spec({"vendor": {"dpa_signed": null}}))
}

test_res_dpa_required_passes_without_personal_data if {
	not "RES-DPA-REQUIRED" in rules(t.with_spec({"vendor": {"dpa_signed": false}, "data": {"categories": ["brand-assets"]}}))
}

test_res_dpa_required_passes_when_signed if {
	not "RES-DPA-REQUIRED" in rules(t.tool)
}

# --- RES-RETENTION-MAX

test_res_retention_max_fires_beyond_the_category_maximum if {
	manifest := t.with_spec({"data": {"categories": ["personal.online-identifiers"], "retention_days": 791}})
	[v] := of_rule(manifest, "RES-RETENTION-MAX")
	v.message == "personal.online-identifiers data may be kept at most 790 days, not 791"
}

test_res_retention_max_passes_at_the_maximum if {
	manifest := t.with_spec({"data": {"categories": ["personal.online-identifiers"], "retention_days": 790}})
	not "RES-RETENTION-MAX" in rules(manifest)
}

test_res_retention_max_passes_for_categories_without_a_maximum if {
	manifest := t.with_spec({"data": {"categories": ["brand-assets"], "retention_days": 10000}})
	not "RES-RETENTION-MAX" in rules(manifest)
}

# --- RES-RESTRICTED-DATA

test_res_restricted_data_fires_for_health_data if {
	manifest := t.with_spec({"data": {"categories": ["personal.contact", "personal.health"]}})
	[v] := of_rule(manifest, "RES-RESTRICTED-DATA")
	v.path == ["spec", "data", "categories", 1]
}

test_res_restricted_data_passes_for_contact_data if {
	not "RES-RESTRICTED-DATA" in rules(t.tool)
}
