"""saas-guardrails: policy-as-code review of SaaS tools, from manifest to SSO access."""

try:  # written by the build (hatch-vcs) from the git tag: see pyproject.toml
    from guardrails._version import __version__ as __version__
except ImportError:  # a source tree that was never built or installed
    __version__ = "0.0.0"
