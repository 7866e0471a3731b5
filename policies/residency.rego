# Residency rules: where personal data may live (by classification and by data
# category), the processing agreement it needs, how long it may be kept, and the
# special categories of data that marketing tools may not hold at all.
package guardrails.policies.residency

import data.guardrails.lib
import data.guardrails.policies.data_classification as dc
import rego.v1

settings := data.guardrails.residency

# Jurisdictions allowed for personal data of each classification: the
# classification's own list if the policy data has one, the default list otherwise.
allowed_places[classification] := places if {
	some classification in ["public", "internal", "confidential", "restricted"]
	places := object.get(settings.personal_data.by_classification, classification, settings.personal_data.allowed)
}

# RES-PERSONAL-DATA-LOCATION, by the declared classification ...
violation contains v if {
	some name, m in input.manifests
	places := allowed_places[m.spec.data.classification]
	some i, place in m.spec.data.residency
	not place in places
	not dc.lifted[name]
	v := location_violation(name, m, m.spec.data.classification, i, place, places)
}

# ... or, for a tool declared below the floor of its data categories, by the
# classification its data demands (data_classification.rego): usually no tool.
violation contains v if {
	some name, level in dc.lifted
	m := input.manifests[name]
	places := allowed_places[level]
	some i, place in m.spec.data.residency
	not place in places
	v := location_violation(name, m, level, i, place, places)
}

location_violation(name, m, level, i, place, places) := {
	"rule": "RES-PERSONAL-DATA-LOCATION", "manifest": name,
	"path": ["spec", "data", "residency", i],
	"message": concat("", [
		"personal data (", concat(", ", sort(categories)), ") may not be stored in '", place,
		"'; allowed for ", level, " data: ", concat(", ", places),
	]),
} if {
	categories := {c | some c in m.spec.data.categories; startswith(c, "personal.")}
	count(categories) > 0
}

# RES-DPA-REQUIRED
violation contains v if {
	some name, m in input.manifests
	not m.spec.vendor.dpa_signed == true
	some category in m.spec.data.categories
	startswith(category, "personal.")
	v := {
		"rule": "RES-DPA-REQUIRED", "manifest": name, "path": ["spec", "vendor", "dpa_signed"],
		"message": "personal data is processed but no data processing agreement is signed",
	}
}

# Manifests whose text names a category of `categories` (see lib.screened): only those
# are looked at by the rules about rare categories.
naming(categories) := lib.screened(concat("", [
	"(", concat("|", [lib.screen_literal(c) | categories[c]]), ")[^0-9A-Za-z_]",
])) if {
	count(categories) > 0
} else := set()

# RES-CATEGORY-LOCATION
violation contains v if {
	some name in naming(settings.by_category)
	m := input.manifests[name]
	some category in m.spec.data.categories
	places := settings.by_category[category]
	some i, place in m.spec.data.residency
	not place in places
	v := {
		"rule": "RES-CATEGORY-LOCATION", "manifest": name,
		"path": ["spec", "data", "residency", i],
		"message": concat("", [
			category, " data may only be stored in ", concat(", ", places), ", not in '", place, "'",
		]),
	}
}

# RES-RETENTION-MAX
violation contains v if {
	some name, m in input.manifests
	days := m.spec.data.retention_days
	some category in m.spec.data.categories
	limit := settings.retention.max_days[category]
	days > limit
	v := {
		"rule": "RES-RETENTION-MAX", "manifest": name, "path": ["spec", "data", "retention_days"],
		"message": concat("", [
			category, " data may be kept at most ", lib.number_text(limit), " days, not ", lib.number_text(days),
		]),
	}
}

# RES-RESTRICTED-DATA
violation contains v if {
	some name in naming(settings.restricted_categories)
	m := input.manifests[name]
	some i, category in m.spec.data.categories
	reason := settings.restricted_categories[category]
	v := {
		"rule": "RES-RESTRICTED-DATA", "manifest": name, "path": ["spec", "data", "categories", i],
		"message": sprintf("%s may not be held by a marketing tool: %s", [category, reason]),
	}
}
