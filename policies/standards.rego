# Standards rules: an accountable owner and a known team, integrations that target
# reviewed tools, personal-data flows only to tools that may hold the data, and
# vendor consolidation on the standard tools.
package guardrails.policies.standards

import data.guardrails.lib
import rego.v1

settings := data.guardrails.standards

known_teams := {t | some t in settings.teams}

shared_mailboxes := {lib.fold(b) | some b in settings.shared_mailboxes}

# STD-OWNER-TEAM: the team is one the organisation knows (when it lists them) ...
violation contains v if {
	count(known_teams) > 0
	some name, m in input.manifests
	not known_teams[m.metadata.team]
	v := {
		"rule": "STD-OWNER-TEAM", "manifest": name, "path": ["metadata", "team"],
		"message": sprintf("team %s is not a known team (standards.teams in the policy data)", [m.metadata.team]),
	}
}

# ... and the owner is a person, not a shared mailbox (only manifests whose text has
# such an address are looked at; mailbox names compare folded, see lib.fold).
shared_mailbox_suspects := lib.screened(concat("", [
	"(", concat("|", [lib.screen_folded(box) | some box in settings.shared_mailboxes]), ")@",
])) if {
	count(settings.shared_mailboxes) > 0
} else := set()

violation contains v if {
	some name in shared_mailbox_suspects
	m := input.manifests[name]
	mailbox := lib.fold(substring(m.metadata.owner, 0, indexof(m.metadata.owner, "@")))
	shared_mailboxes[mailbox]
	v := {
		"rule": "STD-OWNER-TEAM", "manifest": name, "path": ["metadata", "owner"],
		"message": sprintf("owner %s is a shared mailbox, not an accountable person", [m.metadata.owner]),
	}
}

# STD-INTEGRATION-UNKNOWN
violation contains v if {
	some name, m in input.manifests
	some i, flow in m.spec.integrations
	not flow.external == true
	not lib.in_catalog(flow.tool)
	v := {
		"rule": "STD-INTEGRATION-UNKNOWN", "manifest": name,
		"path": ["spec", "integrations", i, "tool"],
		"message": sprintf("integration target '%s' is neither a catalog tool nor marked external: true", [flow.tool]),
	}
}

# STD-PERSONAL-DATA-FLOW: the receiving side of a flow (the other tool for outbound
# and bidirectional flows, this one for inbound and bidirectional) must declare each
# personal category that flows, and not be public. One rule per side, the cheap tests
# first: looking a tool up in a large catalog costs more than reading a field.
violation contains v if {
	some name, m in input.manifests
	some i, flow in m.spec.integrations
	flow.direction != "inbound"
	not flow.external == true
	target := lib.manifest(flow.tool)
	some j, category in flow.data
	startswith(category, "personal.")
	not holds(target, category)
	v := flow_violation(name, i, j, category, flow.tool, target)
}

violation contains v if {
	some name, m in input.manifests
	m.spec.data.classification == "public"
	some i, flow in m.spec.integrations
	flow.direction != "outbound"
	not flow.external == true
	some j, category in flow.data
	startswith(category, "personal.")
	v := flow_violation(name, i, j, category, name, m)
}

violation contains v if {
	some name, m in input.manifests
	some i, flow in m.spec.integrations
	flow.direction != "outbound"
	not flow.external == true
	some j, category in flow.data
	startswith(category, "personal.")
	not category in m.spec.data.categories
	m.spec.data.classification != "public"
	v := flow_violation(name, i, j, category, name, m)
}

# A tool may hold a category it declares, unless its classification is public.
holds(target, category) if {
	category in target.spec.data.categories
	target.spec.data.classification != "public"
}

flow_violation(name, i, j, category, receiver, target) := {
	"rule": "STD-PERSONAL-DATA-FLOW", "manifest": name,
	"path": ["spec", "integrations", i, "data", j],
	"message": concat("", [category, " flows to ", receiver, ", ", flow_problem(target)]),
}

flow_problem(target) := "whose classification is public" if {
	target.spec.data.classification == "public"
} else := "whose manifest does not declare that category"

# STD-STANDARD-TOOL (only manifests whose text names a standard capability are looked at)
standard_suspects := lib.screened(concat("", [
	"(", concat("|", [lib.screen_literal(c) | settings.tools[c]]), ")[^0-9A-Za-z_]",
])) if {
	count(settings.tools) > 0
} else := set()

violation contains v if {
	some name in standard_suspects
	m := input.manifests[name]
	some i, capability in m.spec.capabilities
	standard := settings.tools[capability]
	standard != name
	v := {
		"rule": "STD-STANDARD-TOOL", "manifest": name, "path": ["spec", "capabilities", i],
		"message": sprintf("%s is already covered by the standard tool '%s'", [capability, standard]),
	}
}
