# Tests of policies/data_classification.rego: the classification floor, the category
# vocabulary, and the rules that judge a tool by its derived classification.
package guardrails.policies.data_classification_test

import data.guardrails.policies.data_classification as dc
import data.guardrails.policies.residency
import data.guardrails.policies.security
import data.guardrails.testing as t
import rego.v1

rules(manifest) := {v.rule | some v in violations} if {
	violations := dc.violation with input as t.alone(manifest)
}

of_rule(manifest, rule) := [v | some v in violations; v.rule == rule] if {
	violations := dc.violation with input as t.alone(manifest)
}

# The survey tool of issue 14: prospects' names and emails, declared public, no SSO,
# no MFA, no certificate.
survey := t.with_spec({
	"data": {"classification": "public", "categories": ["personal.contact"]},
	"auth": {"sso": "none", "mfa": "none"},
	"vendor": {"certifications": []},
})

test_compliant_tool_has_no_data_classification_finding if {
	rules(t.tool) == set()
}

# --- SEC-CLASSIFICATION-FLOOR

test_sec_classification_floor_fires_for_personal_data_declared_public if {
	[v] := of_rule(survey, "SEC-CLASSIFICATION-FLOOR")
	v.path == ["spec", "data", "classification"]
	v.message == "personal.contact data must be classified at least confidential (classification.floors in the policy data), not public"
}

test_sec_classification_floor_fires_with_the_most_demanding_categories_named if {
	manifest := t.with_spec({"data": {"categories": ["personal.contact", "personal.health", "brand-assets"]}})
	[v] := of_rule(manifest, "SEC-CLASSIFICATION-FLOOR")
	v.message == "personal.health data must be classified at least restricted (classification.floors in the policy data), not confidential"
}

test_sec_classification_floor_passes_at_or_above_the_floor if {
	not "SEC-CLASSIFICATION-FLOOR" in rules(t.tool)
	not "SEC-CLASSIFICATION-FLOOR" in rules(t.with_spec({"data": {"classification": "restricted"}}))
}

test_sec_classification_floor_passes_for_data_without_a_floor if {
	manifest := t.with_spec({"data": {"classification": "public", "categories": ["brand-assets"]}})
	not "SEC-CLASSIFICATION-FLOOR" in rules(manifest)
}

test_sec_classification_floor_the_most_specific_floor_wins if {
	floors := {"personal.*": "confidential", "personal.professional": "internal"}
	manifest := t.with_spec({"data": {"classification": "internal", "categories": ["personal.professional"]}})
	violations := dc.violation with input as t.alone(manifest) with data.guardrails.classification.floors as floors
	count([v | some v in violations; v.rule == "SEC-CLASSIFICATION-FLOOR"]) == 0
	raised := dc.violation with input as t.alone(manifest) with data.guardrails.classification.floors as {"personal.*": "confidential"}
	count([v | some v in raised; v.rule == "SEC-CLASSIFICATION-FLOOR"]) == 1
}

# --- the derived classification, as the other rules use it

test_derived_classification_is_the_floor_when_declared_lower if {
	inputs := t.catalog({
		"survey": survey,
		"restricted": t.with_spec({"data": {"classification": "restricted"}}),
		"nothing-personal": t.with_spec({"data": {"classification": "internal", "categories": []}}),
		"health": t.with_spec({"data": {"categories": ["personal.contact", "personal.health"]}}),
		"invented": t.with_spec({"data": {"classification": "public", "categories": ["personal.job-title"]}}),
	})
	lifted := dc.lifted with input as inputs
	lifted == {"survey": "confidential", "health": "restricted", "invented": "confidential"}
}

test_derived_classification_makes_sso_mfa_and_certificates_required if {
	found := {v.rule | some v in security.violation} with input as t.alone(survey)
	{"SEC-SSO-REQUIRED", "SEC-MFA-REQUIRED", "SEC-CERT-REQUIRED"} == found & {"SEC-SSO-REQUIRED", "SEC-MFA-REQUIRED", "SEC-CERT-REQUIRED"}
}

test_derived_classification_keeps_restricted_data_in_the_eu if {
	manifest := t.with_spec({"data": {"categories": ["personal.government-id"], "residency": ["eu", "us"]}})
	violations := residency.violation with input as t.alone(manifest)
	[v] := [w | some w in violations; w.rule == "RES-PERSONAL-DATA-LOCATION"]
	v.path == ["spec", "data", "residency", 1]
}

# --- STD-DATA-CATEGORY-UNKNOWN

test_std_data_category_unknown_fires_for_a_made_up_category if {
	manifest := t.with_spec({"data": {"categories": ["personal.contact", "personal.job-title"]}})
	[v] := of_rule(manifest, "STD-DATA-CATEGORY-UNKNOWN")
	v.path == ["spec", "data", "categories", 1]
	v.message == "'personal.job-title' is not a data category of the vocabulary (data_categories in the policy data)"
}

test_std_data_category_unknown_fires_for_an_integration_data_typo if {
	manifest := t.with_spec({"integrations": [{"tool": "zapier", "external": true, "direction": "outbound", "data": ["personal.contcat"]}]})
	[v] := of_rule(manifest, "STD-DATA-CATEGORY-UNKNOWN")
	v.path == ["spec", "integrations", 0, "data", 0]
}

test_std_data_category_unknown_passes_for_known_categories if {
	not "STD-DATA-CATEGORY-UNKNOWN" in rules(t.tool)
}

test_std_data_category_unknown_passes_with_an_organisation_s_own_category if {
	manifest := t.with_spec({"data": {"categories": ["personal.loyalty"]}})
	vocabulary := object.union(data.guardrails.data_categories, {"personal.loyalty": "Loyalty points"})
	violations := dc.violation with input as t.alone(manifest) with data.guardrails.data_categories as vocabulary
	count([v | some v in violations; v.rule == "STD-DATA-CATEGORY-UNKNOWN"]) == 0
}

test_std_data_category_unknown_passes_when_there_is_no_vocabulary if {
	manifest := t.with_spec({"data": {"categories": ["anything.goes"]}})
	violations := dc.violation with input as t.alone(manifest) with data.guardrails.data_categories as {}
	count([v | some v in violations; v.rule == "STD-DATA-CATEGORY-UNKNOWN"]) == 0
}
