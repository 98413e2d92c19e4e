"""The ``kubeling`` command: a click group; each concern adds a sub-group."""

from __future__ import annotations

import click
from rich.console import Console

console = Console()


@click.group()
def main() -> None:
    """kubeling: a small, faithful Kubernetes you can read and break on purpose."""


@main.group()
def images() -> None:
    """Offline images (built from the host's busybox, no registry)."""


@images.command("build")
@click.option("--force", is_flag=True, help="Rebuild even the images that are up to date.")
def images_build(force: bool) -> None:
    """Build kubeling's images (deploy/images) into the local Docker daemon."""
    import docker.errors

    from kubeling.images import load_definitions, main_build

    try:
        built, seconds = main_build(force=force)
    except (docker.errors.DockerException, FileNotFoundError) as err:
        console.print(f"[red]image build failed:[/red] {err}")
        raise SystemExit(1) from err
    for ref in built:
        console.print(f"[green]built[/green] {ref}")
    skipped = [d.ref for d in load_definitions() if d.ref not in built]
    for ref in skipped:
        console.print(f"[dim]up to date[/dim] {ref}")
    console.print(f"{len(built)} built, {len(skipped)} up to date in {seconds:.2f}s")
