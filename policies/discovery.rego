# Rules over what `guardrails discover` found: tools in use that no manifest declares
# (shadow IT), catalog tools nobody uses, and people using a tool beyond its manifest.
#
# Evaluated by `guardrails discover` only (query data.guardrails.discovered), never by
# `check`. Input:
#   {"now": "YYYY-MM-DD", "identity_sources": ["google", ...],
#    "tools": {name: {"title", "in_catalog", "people", "users", "everyone", "sources",
#                     "scopes": [{"scope", "risk", "access", "people"}],
#                     "spend": {"amount", "currency"} | null,
#                     "first_seen", "last_seen", "unlisted": [email, ...]}}}
# `people` counts everyone seen using or paying for a tool, `users` those an identity
# provider shows using it (grants, assignments).
# A violation's `manifest` is the tool's name; its `path` points into the tool:
# ["scopes", i] at a grant, ["spend"] at an expense, ["unlisted"] at the manifest's
# access list, [] at the tool's first record (or its manifest).
# Levels and exceptions work as for every rule (rules.yaml, exceptions/).
package guardrails.discovered.tools

import rego.v1

settings := data.guardrails.discovery

blocking_risks := {risk | some risk in settings.blocking_risks}

undeclared[name] := tool if {
	some name, tool in input.tools
	not tool.in_catalog
}

# Who uses it, in words: "3 people", or "everyone (admin consent)".
users(tool) := "everyone (an administrator consented for all users)" if tool.everyone

users(tool) := "1 person" if {
	not tool.everyone
	tool.people == 1
}

users(tool) := sprintf("%d people", [tool.people]) if {
	not tool.everyone
	tool.people != 1
}

# STD-UNDECLARED-TOOL
violation contains v if {
	some name, tool in undeclared
	v := {
		"rule": "STD-UNDECLARED-TOOL", "manifest": name, "path": [],
		"message": concat("", [
			tool.title, " is in use by ", users(tool), ", seen in ",
			concat(", ", tool.sources), ", but no manifest declares it",
		]),
	}
}

# SEC-SHADOW-DATA-ACCESS
violation contains v if {
	some name, tool in undeclared
	some i, grant in tool.scopes
	blocking_risks[grant.risk]
	v := {
		"rule": "SEC-SHADOW-DATA-ACCESS", "manifest": name, "path": ["scopes", i],
		"message": concat("", [
			tool.title, " was granted ", grant.scope, " (", grant.risk, ": ", grant.access,
			") and no manifest declares it",
		]),
	}
}

# COST-UNDECLARED-SPEND
violation contains v if {
	some name, tool in undeclared
	tool.spend.amount > settings.max_undeclared_spend
	v := {
		"rule": "COST-UNDECLARED-SPEND", "manifest": name, "path": ["spend"],
		"message": sprintf("%s: %v %s spent without a manifest (more than %v %s)", [
			tool.title, tool.spend.amount, tool.spend.currency,
			settings.max_undeclared_spend, tool.spend.currency,
		]),
	}
}

# ACC-UNLISTED-USERS
violation contains v if {
	some name, tool in input.tools
	tool.in_catalog
	count(tool.unlisted) > 0
	v := {
		"rule": "ACC-UNLISTED-USERS", "manifest": name, "path": ["unlisted"],
		"message": concat("", [
			tool.title, " is used by people its manifest does not grant access: ",
			concat(", ", tool.unlisted),
		]),
	}
}

# COST-UNUSED-TOOL: only when an identity provider was read (expenses cannot tell).
violation contains v if {
	count(input.identity_sources) > 0
	some name, tool in input.tools
	tool.in_catalog
	tool.users == 0
	not tool.everyone
	v := {
		"rule": "COST-UNUSED-TOOL", "manifest": name, "path": [],
		"message": concat("", [
			tool.title, " is in the catalog, but ", concat(", ", input.identity_sources),
			" show nobody using it",
		]),
	}
}
