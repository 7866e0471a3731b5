"""`guardrails policy bundle` and `guardrails policy push`: get the policies into OPA.

`bundle` writes the OPA bundle a production OPA loads (from a bundle server or
`opa run --bundle`); `push` loads the same policies and data into a development
server over the REST API.
"""

from __future__ import annotations

from pathlib import Path

import click

from guardrails.engine.interface import PolicySet
from guardrails.errors import GuardrailsError

catalog_option = click.option(
    "-C",
    "--catalog",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Catalog repository whose guardrails.yaml and policies/ to use "
    "(default: the working directory).",
)


def _policy_set(catalog: Path | None) -> PolicySet:
    from guardrails.catalog.tree import WorkTree
    from guardrails.config import load_config
    from guardrails.engine.policy_set import load_policy_set

    root = catalog or Path.cwd()
    return load_policy_set(WorkTree(root), load_config(root))


@click.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("bundle.tar.gz"),
    show_default=True,
    help="Where to write the bundle.",
)
@catalog_option
def bundle(output: Path, catalog: Path | None) -> None:
    """Build an OPA bundle (.manifest, the Rego files, data.json) of the policies in force.

    The shipped library plus the catalog's own policies and data, exactly what
    `guardrails check` evaluates; serve it to OPA and use `check --engine opa`.
    """
    from guardrails.engine.bundle import build_bundle

    built = build_bundle(_policy_set(catalog))
    try:
        output.write_bytes(built.pack())
    except OSError as err:
        raise GuardrailsError(f"{output}: cannot write the bundle: {err.strerror}") from err
    modules = len(built.policy_files())
    click.echo(f"wrote {output}: {modules} policy files, revision {built.revision[:12]}")


@click.command()
@click.option("--opa-url", required=True, help="The OPA server, e.g. http://localhost:8181.")
@click.option(
    "--opa-token-env",
    metavar="VAR",
    help="Environment variable holding a bearer token for OPA (the token is never printed).",
)
@click.option("--opa-timeout", type=float, default=10.0, show_default=True, help="Seconds.")
@catalog_option
def push(opa_url: str, opa_token_env: str | None, opa_timeout: float, catalog: Path | None) -> None:
    """Load the policies and data into a development OPA server over its REST API.

    For production, serve the bundle from `guardrails policy bundle` instead.
    """
    from guardrails.engine.opa import OpaServer
    from guardrails.engine.opa import push as push_policies

    server = OpaServer.parse(opa_url, opa_token_env, opa_timeout)
    pushed = push_policies(server, _policy_set(catalog))
    click.echo(f"pushed {len(pushed)} policy files and data.guardrails to {server.url}")
