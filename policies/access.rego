# Access rules: directory groups rather than long user lists, administrators who
# actually have access, and company accounts only (no free-mail addresses).
package guardrails.policies.access

import data.guardrails.lib
import rego.v1

settings := data.guardrails.access

free_mail := {lib.fold(d) | some d in settings.free_mail_domains}

# Manifests with an address at a free-mail domain somewhere in their text (see
# lib.screened): only those are checked address by address.
free_mail_suspects := lib.screened(concat("", [
	"@(", concat("|", [lib.screen_folded(d) | some d in settings.free_mail_domains]), ")[^0-9A-Za-z_]",
])) if {
	count(free_mail) > 0
} else := set()

# ACC-USE-GROUPS
violation contains v if {
	some name, m in input.manifests
	users := count(m.spec.access.users)
	users > settings.max_listed_users
	v := {
		"rule": "ACC-USE-GROUPS", "manifest": name, "path": ["spec", "access", "users"],
		"message": concat("", [
			lib.number_text(users), " users listed one by one (more than ",
			lib.number_text(settings.max_listed_users), "): grant access through a directory group",
		]),
	}
}

# ACC-ADMINS-AMONG-USERS: when access is not granted through groups, every admin
# must be one of the listed users (group membership is the directory's business).
violation contains v if {
	some name, m in input.manifests
	access := m.spec.access
	count(object.get(access, "groups", [])) == 0
	users := {u | some u in object.get(access, "users", [])}
	some i, admin in access.admins
	not users[admin]
	v := {
		"rule": "ACC-ADMINS-AMONG-USERS", "manifest": name, "path": ["spec", "access", "admins", i],
		"message": sprintf("admin %s has no access: list them in access.users or grant access through access.groups", [admin]),
	}
}

# ACC-PERSONAL-ACCOUNT: the owner, the users and the admins.
violation contains v if {
	some name in free_mail_suspects
	m := input.manifests[name]
	free_mail[lib.email_domain(m.metadata.owner)]
	v := {
		"rule": "ACC-PERSONAL-ACCOUNT", "manifest": name, "path": ["metadata", "owner"],
		"message": sprintf("owner %s is a personal (free-mail) account that IT cannot manage or revoke", [m.metadata.owner]),
	}
}

violation contains v if {
	some name in free_mail_suspects
	m := input.manifests[name]
	some field in ["users", "admins"]
	some i, email in m.spec.access[field]
	free_mail[lib.email_domain(email)]
	v := {
		"rule": "ACC-PERSONAL-ACCOUNT", "manifest": name, "path": ["spec", "access", field, i],
		"message": sprintf("%s is a personal (free-mail) account that IT cannot manage or revoke", [email]),
	}
}

# ACC-SEATS-COUNT: fewer seats bought than people listed (users and admins, each once;
# members of groups are only known to the directory: `guardrails plan` counts them).
violation contains v if {
	some name, m in input.manifests
	seats := m.spec.cost.seats
	access := m.spec.access
	count(object.get(access, "users", [])) + count(object.get(access, "admins", [])) > seats
	people := count({lower(p) | some field in ["users", "admins"]; some p in object.get(access, field, [])})
	people > seats
	v := {
		"rule": "ACC-SEATS-COUNT", "manifest": name, "path": ["spec", "cost", "seats"],
		"message": sprintf("%d people are listed in access.users and access.admins, but only %d seats are bought", [people, seats]),
	}
}
