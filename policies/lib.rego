# Helpers shared by the guardrails policy packages. Plain Rego v1: runs on OPA,
# regorus and rego-cpp alike; never reads the clock (the date is input.now).
package guardrails.lib

import rego.v1

# spec.<path...> of a manifest, or a default when absent.
spec(m, path, default_value) := object.get(m, array.concat(["spec"], path), default_value)

classification(m) := spec(m, ["data", "classification"], "internal")

personal_categories(m) := {c | some c in spec(m, ["data", "categories"], []); startswith(c, "personal.")}

has_personal_data(m) if count(personal_categories(m)) > 0

# The date `days` after input.now, as YYYY-MM-DD (ISO dates compare as strings).
date_after(days) := time.format([
	time.add_date(time.parse_ns("2006-01-02", input.now), 0, 0, days),
	"UTC", "2006-01-02",
])

# Number of people who would use the tool: seats or listed users, whichever is larger.
user_count(m) := max({spec(m, ["cost", "seats"], 0), count(spec(m, ["access", "users"], []))})
