"""Provisioning: approved manifests -> a plan of changes -> apply -> audit log.

`plan.wanted_access` turns the approved manifests into what each tool's access should
be (`model.ToolAccess`); each provider (`identity_center`, `scim`) reads the live
state, proposes `Change`s and carries them out; `plan.Provisioner` gathers them into a
`Plan`; `apply` runs a plan behind the deletion guard, appending to the `audit` log;
`calls` counts API calls for `--stats`; `sandbox` serves local servers for both
providers (docs/provisioning.md says which parts are real and which a stand-in).
"""
