# Shared fixtures for the policy tests (loaded only by `guardrails policy test`).
#
# Every test starts from `tool`, a compliant confidential manifest, changes what it
# is about with `with_spec` / `with_metadata` (object.union merges nested objects;
# lists are replaced whole), and evaluates one package with `input` set by `catalog`.
package guardrails.testing

import rego.v1

now := "2026-11-22"

tool := {
	"apiVersion": "guardrails/v1",
	"kind": "SaaSTool",
	"metadata": {"name": "tool", "owner": "jane.doe@example.com", "team": "marketing-ops"},
	"spec": {
		"purpose": "Webinars for prospects",
		"capabilities": ["webinars"],
		"vendor": {
			"name": "Example Vendor Ltd",
			"certifications": [{"name": "soc2-type2", "expires": "2028-01-31"}],
			"dpa_signed": true,
		},
		"data": {
			"classification": "confidential",
			"categories": ["personal.contact"],
			"residency": ["eu"],
			"retention_days": 365,
		},
		"auth": {"sso": "saml", "scim": true, "mfa": "enforced"},
		"access": {"groups": ["marketing-ops"], "admins": ["jane.doe@example.com"]},
		"cost": {
			"currency": "USD", "annual": 12000, "one_time": 0, "seats": 8,
			"term_months": 12, "renewal_date": "2027-06-30",
		},
	},
}

# `tool` with `patch` merged into its spec.
with_spec(patch) := object.union(tool, {"spec": patch})

# `tool` with `patch` merged into its metadata.
with_metadata(patch) := object.union(tool, {"metadata": patch})

# The input of a check of `manifests` (name -> manifest), all schema-valid.
catalog(manifests) := {"now": now, "manifests": manifests, "invalid": {}}

# The input of a check of one manifest named `tool`.
alone(manifest) := catalog({"tool": manifest})
