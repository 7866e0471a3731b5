# Standards rules: integrations, personal-data flows, standard tools.
package guardrails.policies.standards

import data.guardrails.lib
import rego.v1

violation contains v if {
	some name, m in input.manifests
	some i, flow in lib.spec(m, ["integrations"], [])
	not flow.tool in input.names
	not object.get(flow, "external", false) == true
	v := {
		"rule": "STD-INTEGRATION-UNKNOWN", "manifest": name,
		"path": ["spec", "integrations", i, "tool"],
		"message": sprintf("integration target '%s' is neither a catalog tool nor marked external: true", [flow.tool]),
	}
}

# Which side receives the data of a flow: the other tool, this one, or both.
receivers(name, flow) := {flow.tool} if {
	flow.direction == "outbound"
} else := {name} if {
	flow.direction == "inbound"
} else := {name, flow.tool}

violation contains v if {
	some name, m in input.manifests
	some i, flow in lib.spec(m, ["integrations"], [])
	not object.get(flow, "external", false) == true
	some j, category in object.get(flow, "data", [])
	startswith(category, "personal.")
	some receiver in receivers(name, flow)
	target := input.manifests[receiver]
	problem := flow_problem(target, category)
	v := {
		"rule": "STD-PERSONAL-DATA-FLOW", "manifest": name,
		"path": ["spec", "integrations", i, "data", j],
		"message": sprintf("%s flows to %s, %s", [category, receiver, problem]),
	}
}

flow_problem(target, category) := "whose classification is public" if {
	lib.classification(target) == "public"
} else := "whose manifest does not declare that category" if {
	not category in lib.spec(target, ["data", "categories"], [])
}

violation contains v if {
	some name, m in input.manifests
	some i, capability in m.spec.capabilities
	standard := data.guardrails.standards.tools[capability]
	standard != name
	v := {
		"rule": "STD-STANDARD-TOOL", "manifest": name, "path": ["spec", "capabilities", i],
		"message": sprintf("%s is already covered by the standard tool '%s'", [capability, standard]),
	}
}
