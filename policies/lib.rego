# Helpers shared by the guardrails policy packages.
#
# Plain Rego v1 in the subset OPA, regorus and rego-cpp agree on: no wall clock (the
# date is input.now), no rego.metadata, no engine-specific built-ins. Where the
# engines' built-ins differ, the library uses only what they share, by construction:
# - lower()/upper() differ outside ASCII (regorus lower-cases İ to i + U+0307, OPA to
#   i, rego-cpp not at all): names are compared with fold() below;
# - json.marshal escapes & < > U+2028 U+2029 in OPA only: the screens read canonical()
#   text, in which every engine writes them raw;
# - sprintf's %v writes fractions differently (OPA: 1234567.5 as 1.2345675e+06):
#   numbers from manifests and data are shown with number_text().
# rego-cpp 1.5 (regopy) gets these wrong, so the library avoids them
# (tests/engines/test_parity.py compares every verdict on regorus, regopy and OPA):
# - the `(?i)` regex flag (an error): write each letter as a class (`[Aa]`, see
#   letter_forms) instead;
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
# What a shipped rule may read (the contract the checks' speed rests on): for each
# manifest it judges (`some name, m in input.manifests`), that manifest and the tools
# its spec.integrations name, looked up with manifest(name) and in_catalog(name)
# below, plus input.now and the policy data. Nothing else of the catalog: not another
# manifest of input.manifests, not input.invalid or input.names directly, not a count
# or a scan of all tools. `guardrails check` relies on it twice
# (guardrails/engine/evaluate.py): a large catalog is judged in parts, one per core,
# each part's input holding only its manifests and the tools they name (as
# input.neighbours); and a re-check judges again only the manifests whose content, or
# whose named tools' content, changed, reusing the kept verdicts of the rest. A rule
# reading beyond would get a different answer in a part than in the whole catalog,
# and a kept verdict would go stale when a tool it never named changes.
# tests/policies/test_rule_reach.py judges every manifest of a catalog alone with its
# named tools and fails when any shipped rule's verdict differs from the whole
# catalog's. (The regex screens below read the whole input, but only to narrow which
# manifests a rule then checks exactly, so they never change a verdict.) A rule that
# must look across the catalog belongs in an organisation's own policies: with one of
# those in force, every check judges the whole catalog at once.
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

# The domain of an email address, folded (see fold).
email_domain(email) := fold(substring(email, indexof(email, "@") + 1, -1))

# --- Case folding ----------------------------------------------------------------
#
# `text` with its letters compared case-insensitively, the same on every engine: the
# ASCII letters lower-cased, and the two letters whose lower case is ASCII (İ and the
# Kelvin sign K, U+212A) mapped to it, so no look-alike passes one engine and not another.
# Every other character is kept as it is (lower() is not the same function on every
# engine outside ASCII). Names in policy data are folded the same way.
fold(text) := strings.replace_n(folded_letters, text)

folded_letters := {
	"A": "a", "B": "b", "C": "c", "D": "d", "E": "e", "F": "f", "G": "g", "H": "h", "I": "i",
	"J": "j", "K": "k", "L": "l", "M": "m", "N": "n", "O": "o", "P": "p", "Q": "q", "R": "r",
	"S": "s", "T": "t", "U": "u", "V": "v", "W": "w", "X": "x", "Y": "y", "Z": "z",
	"İ": "i", "K": "k",
}

# Each letter fold() yields, as a regex for every letter that folds to it (an
# alternation where a form is not ASCII: rego-cpp's character classes hold bytes).
letter_forms := {
	"a": "[Aa]", "b": "[Bb]", "c": "[Cc]", "d": "[Dd]", "e": "[Ee]", "f": "[Ff]", "g": "[Gg]",
	"h": "[Hh]", "i": "(?:[Ii]|İ)", "j": "[Jj]", "k": "(?:[Kk]|K)", "l": "[Ll]", "m": "[Mm]",
	"n": "[Nn]", "o": "[Oo]", "p": "[Pp]", "q": "[Qq]", "r": "[Rr]", "s": "[Ss]", "t": "[Tt]",
	"u": "[Uu]", "v": "[Vv]", "w": "[Ww]", "x": "[Xx]", "y": "[Yy]", "z": "[Zz]",
}

# --- Numbers in messages -------------------------------------------------------------
#
# `n` as text, the same on every engine (sprintf's %v is not: OPA writes 1234567.5
# as 1.2345675e+06, regorus 1e21 in full): whole numbers in digits, fractions as the
# shortest decimal that reads back as `n` (what json.marshal writes on every engine),
# never in exponent form. Numbers in manifests and policy data lie within ±2^53 (the
# loader refuses others), where every engine holds them exactly.
number_text(n) := format_int(n, 10) if {
	n == floor(n)
} else := text if {
	text := json.marshal(n)
	not contains(text, "e")
} else := concat("", [sign, "0.", zeros, digits]) if {
	# 1.5e-07 (OPA, rego-cpp) or 1.5e-7 (regorus): only fractions below 0.0001
	text := json.marshal(n)
	parts := split(trim_prefix(text, "-"), "e")
	digits := replace(parts[0], ".", "")
	places := to_number(trim_left(trim_prefix(parts[1], "-"), "0"))
	zeros := concat("", [zero | some _ in numbers.range(2, places); zero := "0"])
	sign := substring(text, 0, count(text) - count(trim_prefix(text, "-")))
}

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
# catalog is turned into JSON text, and a rule asks `screened(pattern)` for the names
# of the manifests whose JSON text matches: one regex over the whole catalog; only if
# it matches, one per block of `block_size` manifests; then one per manifest of a
# block that matched. The rule then checks those few manifests exactly. A screen may
# match more than the exact check, never less: build patterns for names from policy
# data with `screen_literal` (or `screen_folded`, for names compared folded), which
# match the JSON text of a string equal to the name, and end a pattern with
# `[^0-9A-Za-z_]` rather than `"` (rego-cpp never matches a pattern ending in `"`).
block_size := 100

catalog_text := canonical(concat("\n", [json.marshal(input.manifests), json.marshal(object.get(input, "invalid", {}))]))

sorted_names := sort([name | every_manifest[name]])

text_blocks := [block |
	count(sorted_names) > 0
	some i in numbers.range(0, ceil(count(sorted_names) / block_size) - 1)
	start := i * block_size
	names := array.slice(sorted_names, start, start + block_size)
	text := canonical(json.marshal([m | some name in names; m := every_manifest[name]]))
	block := {"names": names, "text": text}
]

# Names of the manifests whose JSON text matches `pattern`.
screened(pattern) := {name |
	regex.match(pattern, catalog_text)
	some block in text_blocks
	regex.match(pattern, block.text)
	some name in block.names
	regex.match(pattern, canonical(json.marshal(every_manifest[name])))
}

# JSON text as every engine writes it. OPA escapes & < > U+2028 U+2029 as \u0026 ...
# (Go's HTML-safe JSON); regorus and rego-cpp write them raw, so canonical() writes
# them raw too. Every other character is written alike by all three. A `\\` (an
# escaped backslash) is set aside first, so `\\u0026` (a backslash, then the text
# u0026) stays as it is. Where this engine escapes none of them, the text is unchanged.
canonical(text) := text if {
	count(escaped_here) == 0
} else := replace(strings.replace_n(escaped_here, replace(text, "\\\\", "\u0001")), "\u0001", "\\\\")

escaped_here := {escape: raw |
	some raw in ["&", "<", ">", "\u2028", "\u2029"]
	escape := marshalled_body(raw)
	escape != raw
}

# A regex that matches, in canonical JSON text, a string value equal to `name`.
screen_literal(name) := regex_literal(json_body(name))

# A regex that matches, in canonical JSON text, a string value whose fold() equals
# that of `name`: each letter as every letter that folds alike.
screen_folded(name) := concat("", [pattern |
	some char in chars
	pattern := object.get(letter_forms, fold(char), regex_literal(char))
]) if chars := split(json_body(name), "")

# `text` as it is written inside a JSON string in canonical JSON text.
json_body(text) := canonical(marshalled_body(text))

# `text` as json.marshal writes it inside a JSON string on this engine: without the
# quotes around it, which rego-cpp keeps escaped (`\"`) in the text it returns.
marshalled_body(text) := trim_suffix(trim_prefix(json.marshal(text), quote), quote)

quote := substring(json.marshal(""), 0, floor(count(json.marshal("")) / 2))

# `text` with the regex metacharacters escaped, to match it literally in a screen.
regex_literal(text) := replace(replace(replace(replace(replace(replace(replace(
	replace(replace(replace(replace(replace(replace(replace(text, "\\", "\\\\"),
	".", "\\."), "+", "\\+"), "*", "\\*"), "?", "\\?"), "(", "\\("), ")", "\\)"),
	"[", "\\["), "]", "\\]"), "{", "\\{"), "}", "\\}"), "|", "\\|"), "^", "\\^"), "$", "\\$")
