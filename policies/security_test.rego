# Tests of policies/security.rego: a passing and a failing case for every rule.
package guardrails.policies.security_test

import data.guardrails.policies.security
import data.guardrails.testing as t
import rego.v1

# Rule ids the security package reports for one manifest.
rules(manifest) := {v.rule | some v in violations} if {
	violations := security.violation with input as t.alone(manifest)
}

# The violations of one rule, for checking paths and messages.
of_rule(input_document, rule) := [v | some v in violations; v.rule == rule] if {
	violations := security.violation with input as input_document
}

test_compliant_tool_has_no_security_finding if {
	rules(t.tool) == set()
}

# --- SEC-SSO-REQUIRED

test_sec_sso_required_fires_for_confidential_without_sso if {
	[v] := of_rule(t.alone(t.with_spec({"auth": {"sso": "none"}})), "SEC-SSO-REQUIRED")
	v.path == ["spec", "auth", "sso"]
}

test_sec_sso_required_passes_with_oidc if {
	not "SEC-SSO-REQUIRED" in rules(t.with_spec({"auth": {"sso": "oidc"}}))
}

test_sec_sso_required_passes_for_internal_data_without_sso if {
	not "SEC-SSO-REQUIRED" in rules(t.with_spec({"auth": {"sso": "none"}, "data": {"classification": "internal", "categories": ["campaign-metrics"]}}))
}

# --- SEC-MFA-REQUIRED

test_sec_mfa_required_fires_when_optional if {
	[v] := of_rule(t.alone(t.with_spec({"auth": {"mfa": "optional"}})), "SEC-MFA-REQUIRED")
	contains(v.message, "auth.mfa is optional")
}

test_sec_mfa_required_fires_when_not_declared if {
	"SEC-MFA-REQUIRED" in rules(t.with_spec({"auth": {"mfa": null}}))
}

test_sec_mfa_required_passes_when_enforced if {
	not "SEC-MFA-REQUIRED" in rules(t.tool)
}

test_sec_mfa_required_passes_for_public_data if {
	not "SEC-MFA-REQUIRED" in rules(t.with_spec({"auth": {"mfa": "none"}, "data": {"classification": "public", "categories": []}}))
}

# --- SEC-SCIM-REQUIRED

test_sec_scim_required_fires_for_many_seats_without_scim if {
	[v] := of_rule(t.alone(t.with_spec({"auth": {"scim": false}, "cost": {"seats": 40}})), "SEC-SCIM-REQUIRED")
	startswith(v.message, "40 users")
}

test_sec_scim_required_counts_listed_users if {
	users := [sprintf("user%d@example.com", [i]) | some i in numbers.range(1, 11)]
	"SEC-SCIM-REQUIRED" in rules(t.with_spec({"auth": {"scim": false}, "access": {"users": users}}))
}

test_sec_scim_required_passes_for_a_small_team if {
	not "SEC-SCIM-REQUIRED" in rules(t.with_spec({"auth": {"scim": false}, "cost": {"seats": 10}}))
}

# --- SEC-CERT-REQUIRED

test_sec_cert_required_fires_without_certification if {
	[v] := of_rule(t.alone(t.with_spec({"vendor": {"certifications": []}})), "SEC-CERT-REQUIRED")
	endswith(v.message, "none is listed")
}

test_sec_cert_required_fires_when_the_only_one_expired if {
	certs := [{"name": "iso27001", "expires": "2026-06-30"}]
	[v] := of_rule(t.alone(t.with_spec({"vendor": {"certifications": certs}})), "SEC-CERT-REQUIRED")
	contains(v.message, "iso27001 on 2026-06-30")
}

test_sec_cert_required_ignores_other_kinds if {
	certs := [{"name": "pci-dss", "expires": "2028-01-31"}]
	"SEC-CERT-REQUIRED" in rules(t.with_spec({"vendor": {"certifications": certs}}))
}

test_sec_cert_required_passes_with_current_iso27001 if {
	certs := [{"name": "iso27001", "expires": "2027-01-31"}]
	not "SEC-CERT-REQUIRED" in rules(t.with_spec({"vendor": {"certifications": certs}}))
}

test_sec_cert_required_passes_for_internal_data if {
	not "SEC-CERT-REQUIRED" in rules(t.with_spec({"vendor": {"certifications": []}, "data": {"classification": "internal", "categories": ["campaign-metrics"]}}))
}

# --- SEC-CERT-EXPIRED

test_sec_cert_expired_fires_for_a_past_date if {
	certs := [{"name": "soc2-type2", "expires": "2028-01-31"}, {"name": "iso27001", "expires": "2026-11-21"}]
	[v] := of_rule(t.alone(t.with_spec({"vendor": {"certifications": certs}})), "SEC-CERT-EXPIRED")
	v.path == ["spec", "vendor", "certifications", 1, "expires"]
}

test_sec_cert_expired_passes_on_the_expiry_day if {
	certs := [{"name": "iso27001", "expires": t.now}]
	not "SEC-CERT-EXPIRED" in rules(t.with_spec({"vendor": {"certifications": certs}}))
}

# --- SEC-CERT-EXPIRING

test_sec_cert_expiring_fires_within_30_days if {
	certs := [{"name": "soc2-type2", "expires": "2026-12-22"}]
	[v] := of_rule(t.alone(t.with_spec({"vendor": {"certifications": certs}})), "SEC-CERT-EXPIRING")
	v.message == "soc2-type2 expires on 2026-12-22, within 30 days"
}

test_sec_cert_expiring_passes_after_30_days if {
	certs := [{"name": "soc2-type2", "expires": "2026-12-23"}]
	not "SEC-CERT-EXPIRING" in rules(t.with_spec({"vendor": {"certifications": certs}}))
}

test_sec_cert_expiring_is_not_reported_once_expired if {
	certs := [{"name": "soc2-type2", "expires": "2026-11-01"}]
	found := rules(t.with_spec({"vendor": {"certifications": certs}}))
	not "SEC-CERT-EXPIRING" in found
	"SEC-CERT-EXPIRED" in found
}

# --- SEC-ADMIN-COUNT

test_sec_admin_count_fires_for_too_many_admins if {
	admins := [sprintf("admin%d@example.com", [i]) | some i in numbers.range(1, 6)]
	[v] := of_rule(t.alone(t.with_spec({"access": {"admins": admins}})), "SEC-ADMIN-COUNT")
	startswith(v.message, "6 administrators")
}

test_sec_admin_count_fires_for_confidential_data_without_admin if {
	"SEC-ADMIN-COUNT" in rules(t.with_spec({"access": {"admins": []}}))
}

test_sec_admin_count_passes_with_five_admins if {
	admins := [sprintf("admin%d@example.com", [i]) | some i in numbers.range(1, 5)]
	not "SEC-ADMIN-COUNT" in rules(t.with_spec({"access": {"admins": admins}}))
}

test_sec_admin_count_passes_for_internal_data_without_admin if {
	not "SEC-ADMIN-COUNT" in rules(t.with_spec({"access": {"admins": []}, "data": {"classification": "internal", "categories": ["campaign-metrics"]}}))
}

# --- SEC-VENDOR-DENYLIST

test_sec_vendor_denylist_fires_whatever_the_case if {
	[v] := of_rule(t.alone(t.with_spec({"vendor": {"name": "QUICKLEADS Inc."}})), "SEC-VENDOR-DENYLIST")
	v.path == ["spec", "vendor", "name"]
}

test_sec_vendor_denylist_passes_for_other_vendors if {
	not "SEC-VENDOR-DENYLIST" in rules(t.with_spec({"vendor": {"name": "QuickLeads Europe GmbH"}}))
}

# --- SEC-NO-SECRETS

test_sec_no_secrets_fires_for_a_secret_key if {
	manifest := t.with_spec({"provisioning": {"scim": {"url": "https://x.example/scim", "token_env": "X_TOKEN", "api_key": "s3cr3t-value"}}})
	[v] := of_rule(t.alone(manifest), "SEC-NO-SECRETS")
	v.path == ["spec", "provisioning", "scim", "api_key"]
	not contains(v.message, "s3cr3t")
}

test_sec_no_secrets_fires_for_a_credential_value if {
	[v] := of_rule(t.alone(t.with_spec({"purpose": "sync with key AKIAIOSFODNN7EXAMPLE"})), "SEC-NO-SECRETS")
	v.message == "value looks like a credential (AWS access key)"
}

test_sec_no_secrets_fires_for_credentials_in_a_url if {
	"SEC-NO-SECRETS" in rules(t.with_spec({"vendor": {"website": "https://admin:hunter2@vendor.example"}}))
}

test_sec_no_secrets_looks_into_schema_invalid_manifests if {
	broken := object.union(t.tool, {"spec": {"Password": "hunter2"}})
	violations := security.violation with input as {"now": t.now, "manifests": {}, "invalid": {"broken": broken}}
	[v.manifest | some v in violations; v.rule == "SEC-NO-SECRETS"] == ["broken"]
}

test_sec_no_secrets_fires_for_a_credential_used_as_a_key if {
	broken := object.union(t.tool, {"spec": {"AKIAIOSFODNN7EXAMPLE": "x"}})
	violations := security.violation with input as {"now": t.now, "manifests": {}, "invalid": {"broken": broken}}
	[v] := [w | some w in violations; w.rule == "SEC-NO-SECRETS"]
	v.path == ["spec", "AKIAIOSFODNN7EXAMPLE"]
	v.message == "a key looks like a credential (AWS access key)"
}

test_sec_no_secrets_passes_for_an_env_var_name if {
	manifest := t.with_spec({"provisioning": {"scim": {"url": "https://x.example/scim", "token_env": "X_TOKEN"}}})
	not "SEC-NO-SECRETS" in rules(manifest)
}

test_sec_no_secrets_passes_for_an_empty_value if {
	not "SEC-NO-SECRETS" in rules(t.with_spec({"vendor": {"password": ""}}))
}

test_sec_no_secrets_screens_more_than_one_block if {
	manifests := {name: t.tool | some i in numbers.range(1, 250); name := sprintf("tool-%03d", [i])}
	leaky := object.union(manifests, {"tool-201": t.with_spec({"purpose": "xoxb-1234567890-abcdef"})})
	violations := security.violation with input as t.catalog(leaky)
	[v.manifest | some v in violations; v.rule == "SEC-NO-SECRETS"] == ["tool-201"]
}
