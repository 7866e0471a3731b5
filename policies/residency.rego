# Residency rules: where personal data may live, and the processing agreement it needs.
package guardrails.policies.residency

import data.guardrails.lib
import rego.v1

settings := data.guardrails.residency

allowed(m) := places if {
	places := settings.personal_data.by_classification[lib.classification(m)]
} else := settings.personal_data.allowed

violation contains v if {
	some name, m in input.manifests
	lib.has_personal_data(m)
	some i, place in m.spec.data.residency
	not place in allowed(m)
	v := {
		"rule": "RES-PERSONAL-DATA-LOCATION", "manifest": name,
		"path": ["spec", "data", "residency", i],
		"message": sprintf("personal data (%s) may not be stored in '%s'; allowed for %s data: %s", [
			concat(", ", sort(lib.personal_categories(m))), place,
			lib.classification(m), concat(", ", allowed(m)),
		]),
	}
}

violation contains v if {
	some name, m in input.manifests
	lib.has_personal_data(m)
	not lib.spec(m, ["vendor", "dpa_signed"], false) == true
	v := {
		"rule": "RES-DPA-REQUIRED", "manifest": name, "path": ["spec", "vendor", "dpa_signed"],
		"message": "personal data is processed but no data processing agreement is signed",
	}
}
