# Security rules: SSO, certifications, SCIM, secrets.
package guardrails.policies.security

import data.guardrails.lib
import rego.v1

settings := data.guardrails.security

violation contains v if {
	some name, m in input.manifests
	lib.classification(m) in settings.sso_required_for
	m.spec.auth.sso == "none"
	v := {
		"rule": "SEC-SSO-REQUIRED", "manifest": name, "path": ["spec", "auth", "sso"],
		"message": sprintf("%s data needs single sign-on, but auth.sso is none", [lib.classification(m)]),
	}
}

# A certification that counts: accepted kind, not expired.
current_certs(m) := {c.name |
	some c in lib.spec(m, ["vendor", "certifications"], [])
	c.name in settings.certifications.accepted
	c.expires >= input.now
}

violation contains v if {
	some name, m in input.manifests
	lib.classification(m) in settings.certifications.required_for
	count(current_certs(m)) == 0
	v := {
		"rule": "SEC-CERT-REQUIRED", "manifest": name,
		"path": ["spec", "vendor", "certifications"],
		"message": sprintf("%s data needs a current %s; %s", [
			lib.classification(m), concat(" or ", settings.certifications.accepted), cert_gap(m),
		]),
	}
}

cert_gap(m) := sprintf("the listed ones have expired (%s)", [concat(", ", expired)]) if {
	expired := [sprintf("%s on %s", [c.name, c.expires]) |
		some c in lib.spec(m, ["vendor", "certifications"], [])
		c.name in settings.certifications.accepted
	]
	count(expired) > 0
} else := "none is listed"

violation contains v if {
	some name, m in input.manifests
	some i, c in lib.spec(m, ["vendor", "certifications"], [])
	c.expires >= input.now
	c.expires <= lib.date_after(settings.certifications.expiring_days)
	v := {
		"rule": "SEC-CERT-EXPIRING", "manifest": name,
		"path": ["spec", "vendor", "certifications", i, "expires"],
		"message": sprintf("%s expires on %s, within %d days", [
			c.name, c.expires, settings.certifications.expiring_days,
		]),
	}
}

violation contains v if {
	some name, m in input.manifests
	users := lib.user_count(m)
	users > settings.scim.max_users_without_scim
	not lib.spec(m, ["auth", "scim"], false)
	v := {
		"rule": "SEC-SCIM-REQUIRED", "manifest": name, "path": ["spec", "auth", "scim"],
		"message": sprintf("%d users but no SCIM provisioning (limit without SCIM: %d)", [
			users, settings.scim.max_users_without_scim,
		]),
	}
}

# Secrets are searched in every manifest, even one that breaks the schema
# (input.invalid): a leaked credential must be reported whatever else is wrong.
# Messages never repeat the value.
every_manifest[name] := m if some name, m in input.manifests

every_manifest[name] := m if some name, m in input.invalid

violation contains v if {
	some name, m in every_manifest
	walk(m, [path, value])
	is_string(value)
	value != ""
	count(path) > 0
	key := path[count(path) - 1]
	is_string(key)
	regex.match(data.guardrails.secrets.key_pattern, key)
	v := {
		"rule": "SEC-NO-SECRETS", "manifest": name, "path": path,
		"message": sprintf("key '%s' holds a literal secret", [key]),
	}
}

violation contains v if {
	some name, m in every_manifest
	walk(m, [path, value])
	is_string(value)
	some kind, pattern in data.guardrails.secrets.patterns
	regex.match(pattern, value)
	v := {
		"rule": "SEC-NO-SECRETS", "manifest": name, "path": path,
		"message": sprintf("value looks like a credential (%s)", [kind]),
	}
}
