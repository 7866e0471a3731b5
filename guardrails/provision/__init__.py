"""Provisioning: approved manifests -> a plan of changes -> apply -> audit log.

`bindings` reads what IT bound to each tool (application, SCIM endpoint, token
variable); `plan.wanted_access` turns the manifests into what each tool's access
should be, from those bindings only (`model.ToolAccess`); each provider
(`identity_center`, `scim`: one module each behind the `interface.Provider` protocol,
listed in its registry) reads the live state, proposes `Change`s and carries them out
in steps (the changes one request makes); `plan.Provisioner` runs every registered
provider and gathers them into a `Plan`; `apply` runs a plan behind the
deletion guard, writing the `audit` log ahead (intent, then outcome) under a lock;
`calls` counts API calls for `--stats`; `sandbox` serves local servers for both
providers, which `settings` uses only when asked and after checking them
(docs/provisioning.md says which parts are real and which a stand-in).
"""
