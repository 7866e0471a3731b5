# Helpers shared by the guardrails policy packages.
#
# Plain Rego v1 in the subset OPA, regorus and rego-cpp agree on: no wall clock (the
# date is input.now), no rego.metadata, no engine-specific built-ins. rego-cpp 1.5
# (regopy) gets these wrong, so the library avoids them (tests/engines/test_parity.py
# compares every verdict):
# - the `(?i)` regex flag (an error): lower-case the text instead;
# - sprintf of a string built by concat/lower/... (mis-quoted): sprintf only raw input
#   or data values and numbers, and assemble other messages with concat;
# - `some k, v in x` inside a comprehension (does not compile): use `x[k]`;
# - a bare function argument used as a key inside a comprehension (`{v | m[arg]}` runs
#   as if `arg` were unbound), and `every` (wrong results);
# - a regex pattern ending in `"` (never matches): end it with `[^0-9A-Za-z_]`.
# Screens write "not a word character" as `[^0-9A-Za-z_]`, never `\W`: that is what
# `\W` means to OPA (Go) and rego-cpp (RE2), while regorus's Unicode `\W` costs
# milliseconds of regex compilation in every check.
# regorus, for its part, reads `[x * 2 | ...]` as a set union: bind `y := x * 2` first.
#
# Speed: every rule walks the catalog once (`some name, m in input.manifests`) and looks
# other tools up by key (`input.manifests[name]`), never by scanning an array, so a
# 10,000-tool catalog costs milliseconds per rule. Lists from the policy data that are
# searched per manifest are turned into sets once, here or at the top of a package.
# Checks that would read every value, or that look for something rare, first screen
# the catalog's JSON text with one regex (see "Regex screens" below). In each rule the
# cheap, usually-false condition comes first.
package guardrails.lib

import rego.v1

# The date `days` after input.now, as YYYY-MM-DD (ISO dates compare as strings).
date_after(days) := time.format([
	time.add_date(time.parse_ns("2006-01-02", input.now), 0, 0, days),
	"UTC", "2006-01-02",
])

# Number of people who would use the tool: seats or listed users, whichever is larger.
user_count(m) := max({object.get(m.spec, ["cost", "seats"], 0), count(object.get(m.spec, ["access", "users"], []))})

# The lower-cased domain of an email address.
email_domain(email) := lower(substring(email, indexof(email, "@") + 1, -1))

# Every manifest by name, schema-valid (input.manifests) or not (input.invalid).
every_manifest[name] := m if some name, m in input.manifests

every_manifest[name] := m if some name, m in input.invalid

# The schema-valid manifest called `name`: one being judged (input.manifests), or one
# only looked up for them (input.neighbours: when the catalog is evaluated in parts,
# the tools a part's manifests integrate with).
manifest(name) := m if {
	m := input.manifests[name]
} else := m if {
	m := input.neighbours[name]
}

# Whether the catalog has a tool called `name`, valid or not (input.names lists them
# all when the catalog is evaluated in parts).
in_catalog(name) if input.manifests[name]

in_catalog(name) if input.invalid[name]

in_catalog(name) if catalog_names[name]

catalog_names := {name | some name in object.get(input, "names", [])}

# --- Regex screens -------------------------------------------------------------
#
# Some checks look at every string of a manifest (secrets), at every email (free-mail
# accounts) or at a value most manifests do not have (a denied vendor). Doing that
# value by value costs microseconds each, seconds per 10,000 manifests. Instead the
# catalog is turned into JSON text, and a rule asks `screened(pattern)` (or
# `screened_lower`, on lower-cased text) for the names of the manifests whose JSON
# text matches: one regex over the whole catalog; only if it matches, one per block of
# `block_size` manifests; then one per manifest of a block that matched. The rule then
# checks those few manifests exactly. A screen may match more than the exact check,
# never less: write screen patterns that match the JSON text of whatever the exact
# check finds (and, for rego-cpp, never end a pattern with `"`: use `[^0-9A-Za-z_]`).
block_size := 100

catalog_text := concat("\n", [json.marshal(input.manifests), json.marshal(object.get(input, "invalid", {}))])

catalog_lower := lower(catalog_text)

sorted_names := sort([name | every_manifest[name]])

text_blocks := [block |
	count(sorted_names) > 0
	some i in numbers.range(0, ceil(count(sorted_names) / block_size) - 1)
	start := i * block_size
	names := array.slice(sorted_names, start, start + block_size)
	text := json.marshal([m | some name in names; m := every_manifest[name]])
	block := {"names": names, "text": text, "lower": lower(text)}
]

# Names of the manifests whose JSON text matches `pattern`.
screened(pattern) := {name |
	regex.match(pattern, catalog_text)
	some block in text_blocks
	regex.match(pattern, block.text)
	some name in block.names
	regex.match(pattern, json.marshal(every_manifest[name]))
}

# Names of the manifests whose lower-cased JSON text matches `pattern`.
screened_lower(pattern) := {name |
	regex.match(pattern, catalog_lower)
	some block in text_blocks
	regex.match(pattern, block.lower)
	some name in block.names
	regex.match(pattern, lower(json.marshal(every_manifest[name])))
}

# `text` with the regex metacharacters escaped, to match it literally in a screen.
regex_literal(text) := replace(replace(replace(replace(replace(replace(replace(
	replace(replace(replace(replace(replace(replace(replace(text, "\\", "\\\\"),
	".", "\\."), "+", "\\+"), "*", "\\*"), "?", "\\?"), "(", "\\("), ")", "\\)"),
	"[", "\\["), "]", "\\]"), "{", "\\{"), "}", "\\}"), "|", "\\|"), "^", "\\^"), "$", "\\$")
