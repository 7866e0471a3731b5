# Security rules: SSO and MFA by classification, SCIM for larger teams, vendor
# certifications and their expiry, administrators, secrets, denied vendors.
package guardrails.policies.security

import data.guardrails.lib
import data.guardrails.policies.data_classification as dc
import rego.v1

settings := data.guardrails.security

sso_required_for := {c | some c in settings.sso_required_for}

mfa_required_for := {c | some c in settings.mfa.required_for}

certs_required_for := {c | some c in settings.certifications.required_for}

accepted_certs := {c | some c in settings.certifications.accepted}

admins_required_for := {c | some c in settings.admins.required_for}

cert_warn_until := lib.date_after(settings.certifications.expiring_days)

# SEC-SSO-REQUIRED (by the derived classification: see data_classification.rego)
violation contains v if {
	some name, m in input.manifests
	m.spec.auth.sso == "none"
	level := object.get(dc.lifted, name, m.spec.data.classification)
	sso_required_for[level]
	v := {
		"rule": "SEC-SSO-REQUIRED", "manifest": name, "path": ["spec", "auth", "sso"],
		"message": concat("", [level, " data needs single sign-on, but auth.sso is none"]),
	}
}

# SEC-MFA-REQUIRED
violation contains v if {
	some name, m in input.manifests
	not m.spec.auth.mfa == "enforced"
	level := object.get(dc.lifted, name, m.spec.data.classification)
	mfa_required_for[level]
	mfa := object.get(m.spec.auth, "mfa", "not set")
	v := {
		"rule": "SEC-MFA-REQUIRED", "manifest": name, "path": ["spec", "auth", "mfa"],
		"message": sprintf("%s data needs enforced multi-factor authentication, but auth.mfa is %s", [
			level, mfa,
		]),
	}
}

# SEC-CERT-REQUIRED: no accepted certification that is still valid.
violation contains v if {
	some name, m in input.manifests
	not has_current_certification(m.spec.vendor)
	level := object.get(dc.lifted, name, m.spec.data.classification)
	certs_required_for[level]
	certifications := object.get(m.spec.vendor, "certifications", [])
	expired := [concat(" on ", [c.name, c.expires]) | some c in certifications; accepted_certs[c.name]]
	v := {
		"rule": "SEC-CERT-REQUIRED", "manifest": name,
		"path": ["spec", "vendor", "certifications"],
		"message": concat("", [
			level, " data needs a current ",
			concat(" or ", settings.certifications.accepted), "; ", cert_gap(expired),
		]),
	}
}

has_current_certification(vendor) if {
	some c in vendor.certifications
	c.expires >= input.now
	accepted_certs[c.name]
}

cert_gap(expired) := concat("", ["the listed ones have expired (", concat(", ", expired), ")"]) if {
	count(expired) > 0
} else := "none is listed"

# SEC-CERT-EXPIRED (stale evidence, even when another certificate still counts) and
# SEC-CERT-EXPIRING, in one pass over the certifications: most dates are far ahead.
violation contains v if {
	some name, m in input.manifests
	some i, c in m.spec.vendor.certifications
	c.expires <= cert_warn_until
	v := cert_date_violation(name, i, c)
}

cert_date_violation(name, i, c) := {
	"rule": "SEC-CERT-EXPIRED", "manifest": name,
	"path": ["spec", "vendor", "certifications", i, "expires"],
	"message": sprintf("%s expired on %s", [c.name, c.expires]),
} if {
	c.expires < input.now
} else := {
	"rule": "SEC-CERT-EXPIRING", "manifest": name,
	"path": ["spec", "vendor", "certifications", i, "expires"],
	"message": concat("", [
		c.name, " expires on ", c.expires, ", within ",
		lib.number_text(settings.certifications.expiring_days), " days",
	]),
}

# SEC-SCIM-REQUIRED
violation contains v if {
	some name, m in input.manifests
	not m.spec.auth.scim == true
	users := lib.user_count(m)
	users > settings.scim.max_users_without_scim
	v := {
		"rule": "SEC-SCIM-REQUIRED", "manifest": name, "path": ["spec", "auth", "scim"],
		"message": concat("", [
			lib.number_text(users), " users but no SCIM provisioning (limit without SCIM: ",
			lib.number_text(settings.scim.max_users_without_scim), ")",
		]),
	}
}

# SEC-ADMIN-COUNT: too many administrators ...
violation contains v if {
	some name, m in input.manifests
	admins := count(m.spec.access.admins)
	admins > settings.admins.max
	v := {
		"rule": "SEC-ADMIN-COUNT", "manifest": name, "path": ["spec", "access", "admins"],
		"message": concat("", [
			lib.number_text(admins), " administrators; at most ", lib.number_text(settings.admins.max),
			" may hold admin rights",
		]),
	}
}

# ... or none accountable for sensitive data.
violation contains v if {
	some name, m in input.manifests
	not has_admins(m)
	level := object.get(dc.lifted, name, m.spec.data.classification)
	admins_required_for[level]
	v := {
		"rule": "SEC-ADMIN-COUNT", "manifest": name, "path": ["spec", "access", "admins"],
		"message": concat("", [level, " data needs at least one named administrator, and none is listed"]),
	}
}

has_admins(m) if count(m.spec.access.admins) > 0

# SEC-VENDOR-DENYLIST (only manifests whose text names a denied vendor are looked at;
# names compare folded, see lib.fold)
denied_suspects := lib.screened(concat("", [
	"(", concat("|", [lib.screen_folded(vendor) | settings.vendors.denied[vendor]]), ")[^0-9A-Za-z_]",
])) if {
	count(settings.vendors.denied) > 0
} else := set()

violation contains v if {
	some name in denied_suspects
	m := input.manifests[name]
	some vendor, reason in settings.vendors.denied
	lib.fold(vendor) == lib.fold(m.spec.vendor.name)
	v := {
		"rule": "SEC-VENDOR-DENYLIST", "manifest": name, "path": ["spec", "vendor", "name"],
		"message": sprintf("vendor %s is on the denylist: %s", [m.spec.vendor.name, reason]),
	}
}

# SEC-NO-SECRETS
#
# Secrets are searched in every manifest, even one that breaks the schema
# (input.invalid): a leaked credential must be reported whatever else is wrong.
# Messages never repeat the value.
#
# Walking every value of every manifest with a dozen regexes made the first library
# slow (~2.6 s per 1,000 manifests), so the catalog is screened as JSON text first
# (lib.screened) and only the manifests that match are walked value by value. The
# screens match at least what the exact checks match: a key ending in one of the key
# words is followed by `"` in JSON text, and the credential patterns (matched here
# never span a `"`. Keys are compared folded (lib.fold); a schema-valid manifest holds
# only the schema's keys (every object in the schema is closed), all lower-case ASCII
# but apiVersion, so the key screen reads its text as it is (every manifest is a
# suspect should the key words name apiVersion), while a manifest that breaks the
# schema may hold any key and is always walked. tests/engines/test_parity.py holds
# the schema to this.
secret_keys := data.guardrails.secrets.key_words

key_pattern := concat("", ["(^|[_-])(", secret_keys, ")$"])

# Key screen: a key word, its closing quote, then the `:` that makes it a key, so values
# such as `token_env: HUBSPOT_SCIM_TOKEN` (in most manifests) are not suspects and the
# catalog is not walked value by value. `{1,2}`: rego-cpp keeps the quote escaped (`\"`).
suspects := (lib.screened(concat("", ["(", secret_keys, ")[^0-9A-Za-z_]{1,2}\\s*:"])) | lib.screened(value_screen)) | {name | input.invalid[name]} | mixed_case_key_suspects

mixed_case_key_suspects := {name | input.manifests[name]} if {
	regex.match(key_pattern, lib.fold("apiVersion"))
} else := set()

value_screen := concat("|", [p | some p in data.guardrails.secrets.patterns])

violation contains v if {
	some name in suspects
	walk(lib.every_manifest[name], [path, value])
	is_string(value)
	value != ""
	count(path) > 0
	key := path[count(path) - 1]
	is_string(key)
	regex.match(key_pattern, lib.fold(key))
	v := {
		"rule": "SEC-NO-SECRETS", "manifest": name, "path": path,
		"message": concat("", ["key '", key, "' holds a literal secret"]),
	}
}

violation contains v if {
	some name in suspects
	walk(lib.every_manifest[name], [path, value])
	is_string(value)
	some kind, pattern in data.guardrails.secrets.patterns
	regex.match(pattern, value)
	v := {
		"rule": "SEC-NO-SECRETS", "manifest": name, "path": path,
		"message": sprintf("value looks like a credential (%s)", [kind]),
	}
}

# A credential pasted as a mapping key (`AKIA…: x`) is as leaked as one pasted as a
# value. The path points at it; guardrails masks credential-shaped text in every
# finding's path and message before any report is written.
violation contains v if {
	some name in suspects
	walk(lib.every_manifest[name], [path, _])
	count(path) > 0
	key := path[count(path) - 1]
	is_string(key)
	some kind, pattern in data.guardrails.secrets.patterns
	regex.match(pattern, key)
	v := {
		"rule": "SEC-NO-SECRETS", "manifest": name, "path": path,
		"message": sprintf("a key looks like a credential (%s)", [kind]),
	}
}
