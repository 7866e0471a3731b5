# Data classification: a tool's data categories come from the organisation's
# vocabulary, and its classification is derived from them, not merely declared.
#
# `classification.floors` in the policy data sets the lowest classification each
# category may be held at (`personal.*`: confidential by default). A tool declared
# below the floor of what it holds is blocked at spec.data.classification, and every
# rule that depends on the classification (SSO, MFA, certifications, administrators,
# where personal data may live) judges it by its derived classification (`lifted`):
# the declared one or the floor, whichever is higher. So under-declaring is never a
# way to pass.
package guardrails.policies.data_classification

import rego.v1

# (Looked up by name: reading data.guardrails as a whole would include the policies.)
vocabulary := categories if {
	categories := data.guardrails.data_categories
} else := {}

floors := by_category if {
	by_category := data.guardrails.classification.floors
} else := {}

levels := ["public", "internal", "confidential", "restricted"]

rank := {"public": 0, "internal": 1, "confidential": 2, "restricted": 3}

# Floor keys ending in `*`, as [prefix, level]: `personal.*` covers `personal.contact`.
prefix_floors := [[prefix, level] |
	level := floors[key]
	endswith(key, "*")
	prefix := trim_suffix(key, "*")
]

# The floor of `category` as a rank: its own key, else the longest prefix key that
# covers it, else public (0).
floor_rank(category) := rank[floors[category]] if {
	floors[category]
} else := rank[level] if {
	longest := max({count(entry[0]) | some entry in prefix_floors; startswith(category, entry[0])})
	some entry in prefix_floors
	count(entry[0]) == longest
	startswith(category, entry[0])
	level := entry[1]
} else := 0

# Each category of the vocabulary with its floor, worked out once per check.
vocabulary_floors[category] := floor_rank(category) if some category, _ in vocabulary

category_floor(category) := vocabulary_floors[category] if {
	vocabulary_floors[category]
} else := floor_rank(category)

# For each classification, the categories of the vocabulary whose floor is above it.
above[level] := {c | vocabulary_floors[c] > floor} if {
	some level in levels
	floor := rank[level]
}

# The manifests whose categories demand more than their declared classification: a
# set lookup per category (`above`), and floors worked out only for categories that
# are not in the vocabulary (blocked for that too). Usually none.
below_floor contains name if {
	some name, m in input.manifests
	demands := above[m.spec.data.classification]
	some category in m.spec.data.categories
	demands[category]
}

below_floor contains name if {
	count(unknown_held) > 0
	some name, m in input.manifests
	some category in m.spec.data.categories
	unknown_held[category]
	floor_rank(category) > rank[m.spec.data.classification]
}

# Categories the vocabulary does not have (an empty vocabulary accepts any): where
# tools declare what they hold, and where they say what flows. Worked out in one
# pass each; the rules below only look for where they are when there are any.
unknown_held := {category |
	count(vocabulary) > 0
	some m in input.manifests
	some category in m.spec.data.categories
	not vocabulary[category]
}

unknown_flowing := {category |
	count(vocabulary) > 0
	some m in input.manifests
	some flow in m.spec.integrations
	some category in flow.data
	not vocabulary[category]
}

# The floor a manifest's categories demand, as a rank (0 when it holds none).
demanded(m) := max(array.concat([0], [category_floor(c) | some c in m.spec.data.categories]))

# The classification each manifest below its floor is judged by. Every rule that
# depends on the classification reads it as
#   object.get(dc.lifted, name, m.spec.data.classification)
# (a lookup: a function called per manifest would cost the engine far more).
lifted[name] := levels[demanded(input.manifests[name])] if some name in below_floor

# SEC-CLASSIFICATION-FLOOR: declared below what its categories demand.
violation contains v if {
	some name in below_floor
	m := input.manifests[name]
	floor := demanded(m)
	demanding := sort([c | some c in m.spec.data.categories; category_floor(c) == floor])
	v := {
		"rule": "SEC-CLASSIFICATION-FLOOR", "manifest": name,
		"path": ["spec", "data", "classification"],
		"message": concat("", [
			concat(", ", demanding), " data must be classified at least ", levels[floor],
			" (classification.floors in the policy data), not ", m.spec.data.classification,
		]),
	}
}

# STD-DATA-CATEGORY-UNKNOWN: a category the vocabulary does not have, where the tool
# declares what it holds ...
violation contains v if {
	count(unknown_held) > 0
	some name, m in input.manifests
	some i, category in m.spec.data.categories
	unknown_held[category]
	v := unknown_category(name, ["spec", "data", "categories", i], category)
}

# ... and where it says what flows to or from another tool.
violation contains v if {
	count(unknown_flowing) > 0
	some name, m in input.manifests
	some i, flow in m.spec.integrations
	some j, category in flow.data
	unknown_flowing[category]
	v := unknown_category(name, ["spec", "integrations", i, "data", j], category)
}

unknown_category(name, path, category) := {
	"rule": "STD-DATA-CATEGORY-UNKNOWN", "manifest": name, "path": path,
	"message": concat("", ["'", category, "' is not a data category of the vocabulary (data_categories in the policy data)"]),
}
