# Tests of policies/cost.rego: a passing and a failing case for every rule.
package guardrails.policies.cost_test

import data.guardrails.policies.cost
import data.guardrails.testing as t
import rego.v1

rules(manifest) := {v.rule | some v in violations} if {
	violations := cost.violation with input as t.alone(manifest)
}

of_rule(manifest, rule) := [v | some v in violations; v.rule == rule] if {
	violations := cost.violation with input as t.alone(manifest)
}

test_compliant_tool_has_no_cost_finding if {
	rules(t.tool) == set()
}

# --- COST-ANNUAL-THRESHOLD

test_cost_annual_threshold_fires_above_the_threshold if {
	[v] := of_rule(t.with_spec({"cost": {"annual": 100001}}), "COST-ANNUAL-THRESHOLD")
	v.message == "annual cost 100001 USD is above the 100000 approval threshold"
}

test_cost_annual_threshold_passes_at_the_threshold if {
	not "COST-ANNUAL-THRESHOLD" in rules(t.with_spec({"cost": {"annual": 100000}}))
}

test_cost_annual_threshold_follows_the_policy_data if {
	found := {v.rule | some v in cost.violation} with input as t.alone(t.tool)
		with data.guardrails.cost.annual_threshold as 10000
	"COST-ANNUAL-THRESHOLD" in found
}

# --- COST-TCO-THRESHOLD

test_cost_tco_threshold_fires_over_a_long_term if {
	manifest := t.with_spec({"cost": {"annual": 90000, "one_time": 40000, "term_months": 36}})
	[v] := of_rule(manifest, "COST-TCO-THRESHOLD")
	v.path == ["spec", "cost"]
	startswith(v.message, "total cost of ownership about 310000 USD")
}

test_cost_tco_threshold_assumes_a_twelve_month_term if {
	manifest := object.union(t.tool, {"spec": {"cost": {"currency": "EUR", "annual": 280000, "one_time": 20000}}})
	not "COST-TCO-THRESHOLD" in rules(json.remove(manifest, ["spec/cost/term_months"]))
	"COST-TCO-THRESHOLD" in rules(json.remove(manifest, ["spec/cost/term_months"])) with data.guardrails.cost.tco_threshold as 300000 - 1
}

test_cost_tco_threshold_passes_below_the_threshold if {
	not "COST-TCO-THRESHOLD" in rules(t.with_spec({"cost": {"annual": 90000, "one_time": 30000, "term_months": 36}}))
}

# --- COST-MULTI-YEAR

test_cost_multi_year_fires_for_a_two_year_term if {
	[v] := of_rule(t.with_spec({"cost": {"term_months": 24}}), "COST-MULTI-YEAR")
	v.path == ["spec", "cost", "term_months"]
}

test_cost_multi_year_passes_for_a_yearly_term if {
	not "COST-MULTI-YEAR" in rules(t.with_spec({"cost": {"term_months": 12}}))
}

# --- COST-RENEWAL-PASSED

test_cost_renewal_passed_fires_for_yesterday if {
	[v] := of_rule(t.with_spec({"cost": {"renewal_date": "2026-11-21"}}), "COST-RENEWAL-PASSED")
	v.path == ["spec", "cost", "renewal_date"]
}

test_cost_renewal_passed_passes_for_today if {
	found := rules(t.with_spec({"cost": {"renewal_date": t.now}}))
	not "COST-RENEWAL-PASSED" in found
	"COST-RENEWAL-NEAR" in found
}

# --- COST-RENEWAL-NEAR

test_cost_renewal_near_fires_within_60_days if {
	[v] := of_rule(t.with_spec({"cost": {"renewal_date": "2027-01-21"}}), "COST-RENEWAL-NEAR")
	v.message == "renews on 2027-01-21, within 60 days: review seats and usage before it renews"
}

test_cost_renewal_near_passes_after_60_days if {
	not "COST-RENEWAL-NEAR" in rules(t.with_spec({"cost": {"renewal_date": "2027-01-22"}}))
}
