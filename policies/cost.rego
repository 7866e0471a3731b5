# Cost rules.
package guardrails.policies.cost

import data.guardrails.lib
import rego.v1

settings := data.guardrails.cost

violation contains v if {
	some name, m in input.manifests
	annual := lib.spec(m, ["cost", "annual"], 0)
	annual > settings.annual_threshold
	v := {
		"rule": "COST-ANNUAL-THRESHOLD", "manifest": name, "path": ["spec", "cost", "annual"],
		"message": sprintf("annual cost %v %v is above the %v approval threshold", [
			annual, lib.spec(m, ["cost", "currency"], ""), settings.annual_threshold,
		]),
	}
}
