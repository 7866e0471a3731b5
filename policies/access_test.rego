# Tests of policies/access.rego: a passing and a failing case for every rule.
package guardrails.policies.access_test

import data.guardrails.policies.access
import data.guardrails.testing as t
import rego.v1

rules(manifest) := {v.rule | some v in violations} if {
	violations := access.violation with input as t.alone(manifest)
}

of_rule(manifest, rule) := [v | some v in violations; v.rule == rule] if {
	violations := access.violation with input as t.alone(manifest)
}

people(n) := [sprintf("person%d@example.com", [i]) | some i in numbers.range(1, n)]

test_compliant_tool_has_no_access_finding if {
	rules(t.tool) == set()
}

# --- ACC-USE-GROUPS

test_acc_use_groups_fires_for_eleven_users if {
	[v] := of_rule(t.with_spec({"access": {"users": people(11)}}), "ACC-USE-GROUPS")
	v.path == ["spec", "access", "users"]
}

test_acc_use_groups_passes_for_ten_users if {
	not "ACC-USE-GROUPS" in rules(t.with_spec({"access": {"users": people(10)}}))
}

# --- ACC-ADMINS-AMONG-USERS

test_acc_admins_among_users_fires_for_an_admin_without_access if {
	manifest := object.union(t.tool, {"spec": {"access": {"groups": [], "users": ["alice@example.com"]}}})
	[v] := of_rule(manifest, "ACC-ADMINS-AMONG-USERS")
	v.path == ["spec", "access", "admins", 0]
}

test_acc_admins_among_users_passes_for_a_listed_admin if {
	manifest := object.union(t.tool, {"spec": {"access": {"groups": [], "users": ["jane.doe@example.com"]}}})
	not "ACC-ADMINS-AMONG-USERS" in rules(manifest)
}

test_acc_admins_among_users_passes_when_groups_grant_access if {
	not "ACC-ADMINS-AMONG-USERS" in rules(t.tool)
}

# --- ACC-PERSONAL-ACCOUNT

test_acc_personal_account_fires_for_a_free_mail_user if {
	manifest := t.with_spec({"access": {"users": ["alice@example.com", "Bob.Smith@GMail.com"]}})
	[v] := of_rule(manifest, "ACC-PERSONAL-ACCOUNT")
	v.path == ["spec", "access", "users", 1]
}

test_acc_personal_account_fires_for_a_free_mail_admin if {
	"ACC-PERSONAL-ACCOUNT" in rules(t.with_spec({"access": {"admins": ["jane.doe@outlook.com"]}}))
}

test_acc_personal_account_fires_for_a_free_mail_owner if {
	[v] := of_rule(t.with_metadata({"owner": "jane.doe@gmail.com"}), "ACC-PERSONAL-ACCOUNT")
	v.path == ["metadata", "owner"]
}

test_acc_personal_account_passes_for_company_accounts if {
	not "ACC-PERSONAL-ACCOUNT" in rules(t.with_spec({"access": {"users": ["alice@gmail.com.example.com"]}}))
}

# --- ACC-SEATS-COUNT

test_acc_seats_count_fires_when_people_outnumber_seats if {
	manifest := t.with_spec({"access": {"users": people(3), "admins": ["jane.doe@example.com"]}, "cost": {"seats": 3}})
	[v] := of_rule(manifest, "ACC-SEATS-COUNT")
	v.path == ["spec", "cost", "seats"]
	v.message == "4 people are listed in access.users and access.admins, but only 3 seats are bought"
}

test_acc_seats_count_passes_when_an_admin_is_also_a_user if {
	# the same person twice (in either case) needs one seat
	manifest := t.with_spec({"access": {"users": ["Jane.Doe@example.com", "alice@example.com"], "admins": ["jane.doe@example.com"]}, "cost": {"seats": 2}})
	not "ACC-SEATS-COUNT" in rules(manifest)
}

test_acc_seats_count_passes_without_seats_declared if {
	manifest := object.union(t.with_spec({"access": {"users": people(3)}}), {"spec": {"cost": {"seats": null}}})
	not "ACC-SEATS-COUNT" in rules(json.remove(manifest, ["spec/cost/seats"]))
}
