"""Provisioning: approved manifests -> a plan of changes -> apply -> audit log.

`desired` turns approved manifests into what each tool's access should be; each
provider (`identity_center`, `scim`) reads the live state, proposes `Change`s and
carries them out; `plan` gathers them into a `Plan`; `apply` runs a plan with the
deletion guard and the audit log; `sandbox` serves local stand-ins for both providers.
"""
