# Tests of the helpers in policies/lib.rego that keep every engine to one verdict:
# case folding, numbers in messages, and screens over JSON text.
package guardrails.lib_test

import data.guardrails.lib
import data.guardrails.policies.access
import data.guardrails.policies.security
import data.guardrails.testing as t
import rego.v1

# --- fold: ASCII letters, İ and the Kelvin sign K; every other character as written

test_fold_lower_cases_ascii_letters if lib.fold("AT&T Webinars") == "at&t webinars"

test_fold_maps_letters_whose_lower_case_is_ascii if lib.fold("İNCİ QUIC\u212aLEADS") == "inci quickleads"

test_fold_keeps_other_letters_as_written if lib.fold("STRAẞE ıBM Éclair") == "straẞe ıbm Éclair"

# --- number_text: the same digits on every engine, never an exponent

test_number_text_of_whole_numbers if {
	lib.number_text(12) == "12"
	lib.number_text(9007199254740992) == "9007199254740992"
	lib.number_text(10.0) == "10"
}

test_number_text_of_fractions if {
	lib.number_text(1234567.5) == "1234567.5"
	lib.number_text(0.25) == "0.25"
	lib.number_text(0.0000015) == "0.0000015"
	lib.number_text(-0.00002) == "-0.00002"
}

# --- screens: names from policy data, however they are written or escaped

denied(vendor_name, denylist) := [v |
	some v in violations
	v.rule == "SEC-VENDOR-DENYLIST"
] if {
	vendor := t.with_spec({"vendor": {"name": vendor_name, "dpa_signed": true}})
	violations := security.violation with input as t.alone(vendor)
		with data.guardrails.security.vendors.denied as denylist
}

test_denylist_names_with_json_escaped_characters_match if {
	[found] := denied("AT&T <Webinars>", {"at&t <webinars>": "resold lists"})
	found.message == "vendor AT&T <Webinars> is on the denylist: resold lists"
}

test_denylist_folds_only_what_every_engine_folds if {
	denied("STRAẞE GMBH", {"straße gmbh": "no"}) == []
	count(denied("İNCİ LTD", {"inci ltd": "yes"})) == 1
}

test_free_mail_domains_fold_dotted_capital_i if {
	manifest := t.with_spec({"access": {"users": ["joe@gmail.example"], "admins": ["joe@gmail.example"]}})
	violations := access.violation with input as t.alone(manifest)
		with data.guardrails.access.free_mail_domains as ["GMAİL.EXAMPLE"]
	[found] := [w | some w in violations; w.path == ["spec", "access", "users", 0]]
	found.rule == "ACC-PERSONAL-ACCOUNT"
}

test_key_words_naming_api_version_make_every_manifest_a_suspect if {
	violations := security.violation with input as t.alone(t.tool)
		with data.guardrails.secrets.key_words as "apiversion"
	[v.path | some v in violations; v.rule == "SEC-NO-SECRETS"] == [["apiVersion"]]
}
