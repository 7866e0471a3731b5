"""saas-guardrails: policy-as-code review of SaaS tools, from manifest to SSO access."""

__version__ = "0.1.0"
