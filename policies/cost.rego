# Cost rules: the annual approval threshold, total cost of ownership over the whole
# term, multi-year commitments, and renewal dates that have passed or come soon.
package guardrails.policies.cost

import data.guardrails.lib
import rego.v1

settings := data.guardrails.cost

renewal_warn_until := lib.date_after(settings.renewal_notice_days)

# COST-ANNUAL-THRESHOLD
violation contains v if {
	some name, m in input.manifests
	annual := m.spec.cost.annual
	annual > settings.annual_threshold
	v := {
		"rule": "COST-ANNUAL-THRESHOLD", "manifest": name, "path": ["spec", "cost", "annual"],
		"message": concat("", [
			"annual cost ", lib.number_text(annual), " ", object.get(m.spec.cost, "currency", ""),
			" is above the ", lib.number_text(settings.annual_threshold), " approval threshold",
		]),
	}
}

# COST-TCO-THRESHOLD: one_time + annual x term_months / 12 (compared in twelfths, so
# no fraction is formed unless the rule fires).
violation contains v if {
	some name, m in input.manifests
	cost := m.spec.cost
	one_time := object.get(cost, "one_time", 0)
	annual := object.get(cost, "annual", 0)
	term := object.get(cost, "term_months", 12)
	(12 * one_time) + (annual * term) > 12 * settings.tco_threshold
	v := {
		"rule": "COST-TCO-THRESHOLD", "manifest": name, "path": ["spec", "cost"],
		"message": concat("", [
			"total cost of ownership about ", lib.number_text(round(one_time + ((annual * term) / 12))),
			" ", object.get(cost, "currency", ""), " (one-time ", lib.number_text(one_time),
			" + annual ", lib.number_text(annual), " over ", lib.number_text(term),
			" months) is above the ", lib.number_text(settings.tco_threshold), " threshold",
		]),
	}
}

# COST-MULTI-YEAR
violation contains v if {
	some name, m in input.manifests
	term := m.spec.cost.term_months
	term > settings.max_term_months
	v := {
		"rule": "COST-MULTI-YEAR", "manifest": name, "path": ["spec", "cost", "term_months"],
		"message": concat("", [
			"a ", lib.number_text(term), "-month term commits beyond the ",
			lib.number_text(settings.max_term_months), " months allowed without finance approval",
		]),
	}
}

# COST-RENEWAL-PASSED
violation contains v if {
	some name, m in input.manifests
	renewal := m.spec.cost.renewal_date
	renewal < input.now
	v := {
		"rule": "COST-RENEWAL-PASSED", "manifest": name, "path": ["spec", "cost", "renewal_date"],
		"message": sprintf("renewal date %s has passed: the contract renewed or lapsed without review", [renewal]),
	}
}

# COST-RENEWAL-NEAR
violation contains v if {
	some name, m in input.manifests
	renewal := m.spec.cost.renewal_date
	renewal >= input.now
	renewal <= renewal_warn_until
	v := {
		"rule": "COST-RENEWAL-NEAR", "manifest": name, "path": ["spec", "cost", "renewal_date"],
		"message": concat("", [
			"renews on ", renewal, ", within ", lib.number_text(settings.renewal_notice_days),
			" days: review seats and usage before it renews",
		]),
	}
}
