# Provisioning rules: a manifest may only ask for what IT bound to its own tool
# (data.guardrails.provisioning.bindings, policies/data/provisioning.yaml), and admins
# are told when provisioning gives them no admin rights.
package guardrails.policies.provisioning

import data.guardrails.lib
import rego.v1

# (Read by its own path: all of data.guardrails holds the policy packages too.)
default bindings := {}

bindings := data.guardrails.provisioning.bindings

# What IT bound to a tool; null when nothing is (a malformed binding never matches).
bound(name, provider, key) := object.get(bindings, [name, provider, key], null)

# The tools an application is bound to (to name the owner of a borrowed one).
owners_of(application) := [t |
	some t
	bindings[t].identity_center.application == application
]

# SEC-PROVISIONING-BINDING: Identity Center
violation contains v if {
	some name, m in input.manifests
	application := m.spec.provisioning.identity_center.application
	application != bound(name, "identity_center", "application")
	v := {
		"rule": "SEC-PROVISIONING-BINDING", "manifest": name,
		"path": ["spec", "provisioning", "identity_center", "application"],
		"message": borrowed_message(name, application),
	}
}

borrowed_message(name, application) := concat("", [
	"application '", application, "' is bound to ", concat(", ", owners), ", not to ", name,
]) if {
	owners := owners_of(application)
	count(owners) > 0
} else := concat("", ["IT has bound no Identity Center application to ", name]) if {
	bound(name, "identity_center", "application") == null
} else := concat("", [
	"application '", application, "' is not the one IT bound to ", name,
])

# SEC-PROVISIONING-BINDING: SCIM
violation contains v if {
	some name, m in input.manifests
	url := m.spec.provisioning.scim.url
	not same_url(url, bound(name, "scim", "url"))
	v := {
		"rule": "SEC-PROVISIONING-BINDING", "manifest": name,
		"path": ["spec", "provisioning", "scim", "url"],
		"message": scim_message(name),
	}
}

same_url(url, bound_url) if {
	is_string(bound_url)
	trim_right(url, "/") == trim_right(bound_url, "/")
}

scim_message(name) := concat("", ["IT has bound no SCIM endpoint to ", name]) if {
	bound(name, "scim", "url") == null
} else := concat("", [
	"this SCIM URL is not the one IT bound to ", name,
	": a token is only ever sent where IT bound it",
])

# SEC-PROVISIONING-TOKEN: a token variable named in a manifest, valid or not (the schema
# no longer has the key, so such a manifest is in input.invalid too).
violation contains v if {
	some name, m in lib.every_manifest
	some provider, fields in m.spec.provisioning
	is_object(fields)
	object.get(fields, "token_env", null) != null
	v := {
		"rule": "SEC-PROVISIONING-TOKEN", "manifest": name,
		"path": ["spec", "provisioning", provider, "token_env"],
		"message": "a manifest may not name an environment variable to read: IT binds each tool's token variable",
	}
}

# ACC-ADMINS-NO-RIGHTS: admins of a tool provisioned through bindings without an admin
# group (an unbound request is SEC-PROVISIONING-BINDING's business, not this rule's).
violation contains v if {
	some name, m in input.manifests
	count(object.get(m.spec, ["access", "admins"], [])) > 0
	provisioning := m.spec.provisioning
	provided := {p |
		some p in ["identity_center", "scim"]
		provisioning[p]
		object.get(bindings, [name, p], null) != null
	}
	count(provided) > 0
	not admin_rights(name, provided)
	v := {
		"rule": "ACC-ADMINS-NO-RIGHTS", "manifest": name, "path": ["spec", "access", "admins"],
		"message": concat("", [
			"provisioning gives the admins of ", name,
			" access but no admin rights: IT's binding has no admin group",
		]),
	}
}

admin_rights(name, provided) if {
	some provider in provided
	bound(name, provider, "admin_group") == true
}
