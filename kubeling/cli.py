"""The ``kubeling`` command: a click group; each concern adds a sub-group.

Cluster verbs (``up``, ``down``, ``status``, ``logs``, ``kubeconfig``) and chaos verbs (``kill``, ``pause``,
``resume``, ``restart``, ``add-node``, ``remove-node``, ``chaos``) all take ``--name`` (default ``lab``); the logic
lives in :mod:`kubeling.lifecycle`, :mod:`kubeling.status` and :mod:`kubeling.chaos`.
"""

from __future__ import annotations

import os
import random
import signal
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from kubeling import cluster, kubeconfig, lifecycle, processes
from kubeling.cluster import ClusterState, Settings

console = Console(highlight=False, soft_wrap=True)

name_option = click.option("--name", default=cluster.DEFAULT_NAME, show_default=True, help="the cluster's name")


def _directory(name: str) -> Path:
    try:
        return cluster.state_dir(cluster.check_name(name))
    except ValueError as err:
        raise click.UsageError(str(err)) from err


def _load(name: str) -> tuple[ClusterState, Path]:
    directory = _directory(name)
    state = cluster.load(directory)
    if state is None:
        console.print(f"[red]no cluster named {name}[/red] (state dir {directory}); start one with `kubeling up "
                      f"--name {name}`")
        raise SystemExit(1)
    return state, directory


def _component(state: ClusterState, target: str) -> str:
    try:
        return cluster.resolve_component(state, target)
    except KeyError as err:
        raise click.UsageError(err.args[0]) from err


def _duration(text: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return float(text[: -len(unit)]) * units[unit]
    try:
        return float(text)
    except ValueError:
        raise click.BadParameter(f"invalid duration {text!r} (use e.g. 10s, 5m, 500ms)") from None


@click.group()
def main() -> None:
    """kubeling: a small, faithful Kubernetes you can read and break on purpose."""


# ---- lifecycle ---------------------------------------------------------------------------------------------------

@main.command()
@name_option
@click.option("--nodes", default=3, show_default=True, type=click.IntRange(0, 50), help="real (Docker) nodes")
@click.option("--hollow-nodes", default=0, show_default=True, type=click.IntRange(0, 5000),
              help="fake-runtime nodes, all in one extra kubelet process")
@click.option("--fast-failover", is_flag=True, help="short heartbeat, grace, eviction and leader-election timings")
@click.option("--ha", is_flag=True, help="two replicas of the scheduler and of the controller-manager")
@click.option("--timeout", default=120.0, show_default=True, help="seconds to wait for every node to be Ready")
def up(name: str, nodes: int, hollow_nodes: int, fast_failover: bool, ha: bool, timeout: float) -> None:
    """Start a cluster: etcd, apiserver, controller-manager, scheduler and one kubelet per node, as processes."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    directory = _directory(name)
    try:
        lifecycle.find_etcd()
        client = lifecycle.docker_client()
        state = cluster.load(directory)
        if state is not None and not lifecycle.dead_components(state):
            console.print(f"cluster {name} is already running ({len(state.components)} components); "
                          f"`kubeling status --name {name}` shows them")
            _print_usage(state, directory)
            return
        from kubeling.images import build_images

        with console.status("building the local images (kubeling/pause, busybox, hello)..."):
            built = build_images(client)
        client.close()
        if built:
            console.print(f"built images: {', '.join(built)}")
        if state is None:
            state = lifecycle.new_cluster(Settings(name=name, nodes=nodes, hollow_nodes=hollow_nodes,
                                                   fast_failover=fast_failover, ha=ha), directory,
                                          report=lambda line: console.print(f"[yellow]{line}[/yellow]"))
        else:
            console.print(f"cluster {name} exists ({directory}); starting what is not running (its recorded "
                          "settings apply)")
        lifecycle.start_missing(state, directory, report=lambda line: console.print(f"[dim]{line}[/dim]"))
    except lifecycle.SetupError as err:
        console.print(f"[red]{err}[/red]")
        raise SystemExit(1) from err
    kubeconfig.write(directory, name, lifecycle.apiserver_url(state))
    total = len(state.all_node_names())
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as progress:
        task = progress.add_task("waiting for nodes", total=total)

        def tick(pending: list[str], dead: list[str]) -> None:
            shown = ", ".join(pending[:4]) + (" ..." if len(pending) > 4 else "")
            progress.update(task, completed=total - len(pending),
                            description=f"nodes Ready: {total - len(pending)}/{total}" +
                            (f" (waiting for {shown})" if pending else ""))

        pending = lifecycle.wait_ready(state, timeout, tick)
    dead = lifecycle.dead_components(state)
    if dead or pending:
        for component in dead:
            log = processes.log_path(directory, component)
            console.print(f"[red]{component} exited[/red]; the end of {log}:\n{processes.tail(log)}")
        if pending:
            when = "yet" if dead else f"after {timeout:.0f}s"
            console.print(f"[red]not Ready {when}:[/red] {', '.join(pending)}")
        console.print(f"`kubeling status --name {name}` shows the cluster; `kubeling down --name {name}` stops it")
        raise SystemExit(1)
    console.print(f"[green]cluster {name} is up[/green]: {total} node(s) Ready, {len(state.components)} processes "
                  f"(state and logs in {directory})")
    _print_usage(state, directory)


def _print_usage(state: ClusterState, directory: Path) -> None:
    console.print(f"\n  export KUBECONFIG={kubeconfig.path(directory)}\n  kubectl get nodes -o wide\n")


@main.command()
@name_option
@click.option("--purge", is_flag=True, help="also delete the state dir: etcd data, logs, kubeconfig")
def down(name: str, purge: bool) -> None:
    """Stop every process of the cluster and remove its containers."""
    directory = _directory(name)
    state = cluster.load(directory)
    if state is None:
        console.print(f"no cluster named {name} (state dir {directory}): nothing to stop")
        return
    stopped, removed = lifecycle.down(state, directory, purge)
    console.print(f"stopped {len(stopped)} process(es){': ' + ', '.join(stopped) if stopped else ''}")
    console.print(f"removed {removed} container(s)")
    if purge:
        console.print(f"deleted {directory}")


@main.command()
@name_option
def status(name: str) -> None:
    """A table: component, PID, alive, healthz, leader, node Ready."""
    from kubeling.status import COLUMNS, observe, status_rows

    state, _ = _load(name)
    seen = observe(state)
    table = Table(title=f"cluster {name} ({lifecycle.apiserver_url(state)})")
    for column in COLUMNS:
        table.add_column(column)
    styles = {"no": "red", "failing": "red", "NotReady": "red", "paused": "yellow", "absent": "yellow"}
    for row in status_rows(state, seen):
        table.add_row(*(f"[{styles[cell]}]{cell}[/{styles[cell]}]" if cell in styles else cell for cell in row))
    console.print(table)
    if seen.nodes is None:
        console.print("[yellow]the apiserver does not answer: leader and node columns are unknown[/yellow]")


@main.command()
@name_option
@click.argument("component")
@click.option("-f", "--follow", is_flag=True, help="keep printing what the component writes")
@click.option("--tail", "lines", default=-1, help="only the last N lines")
def logs(name: str, component: str, follow: bool, lines: int) -> None:
    """Print a component's log (a node name shows its kubelet's)."""
    state, directory = _load(name)
    path = processes.log_path(directory, _component(state, component))
    if not path.exists():
        raise click.ClickException(f"no log yet: {path}")
    if follow:
        os.execvp("tail", ["tail", "-n", str(lines if lines >= 0 else "+1"), "-F", str(path)])
    text = path.read_text(errors="replace").splitlines()
    sys.stdout.write("\n".join(text[-lines:] if lines >= 0 else text) + "\n")


@main.command("kubeconfig")
@name_option
def kubeconfig_cmd(name: str) -> None:
    """Print the path of the cluster's kubeconfig."""
    _, directory = _load(name)
    click.echo(str(kubeconfig.path(directory)))


# ---- chaos -------------------------------------------------------------------------------------------------------

SIGNALS = {"KILL": signal.SIGKILL, "TERM": signal.SIGTERM, "INT": signal.SIGINT}


def _signal_verb(name: str, target: str, sig: int, verb: str) -> None:
    state, _ = _load(name)
    component = state.components[_component(state, target)]
    if not processes.send_signal(component, sig):
        console.print(f"{component.name} is not running")
        raise SystemExit(1)
    console.print(f"{verb} {component.name} (pid {component.pid})")


@main.command()
@name_option
@click.argument("target")
@click.option("--signal", "sig", type=click.Choice(sorted(SIGNALS)), default="KILL", show_default=True)
def kill(name: str, target: str, sig: str) -> None:
    """Kill a component (or a node's kubelet). Nothing restarts it: `kubeling restart` does."""
    _signal_verb(name, target, SIGNALS[sig], f"sent SIG{sig} to")


@main.command()
@name_option
@click.argument("target")
def pause(name: str, target: str) -> None:
    """Freeze a component (SIGSTOP): it holds its sockets and leases but does nothing."""
    _signal_verb(name, target, signal.SIGSTOP, "paused")


@main.command()
@name_option
@click.argument("target")
def resume(name: str, target: str) -> None:
    """Resume a paused component (SIGCONT)."""
    _signal_verb(name, target, signal.SIGCONT, "resumed")


@main.command()
@name_option
@click.argument("target")
def restart(name: str, target: str) -> None:
    """Start a component again with its recorded command (stopping it first if it runs)."""
    state, directory = _load(name)
    component = _component(state, target)
    try:
        pid = lifecycle.restart(state, component, directory)
    except lifecycle.SetupError as err:
        console.print(f"[red]{err}[/red]")
        raise SystemExit(1) from err
    console.print(f"restarted {component} (pid {pid})")


@main.command("add-node")
@name_option
def add_node(name: str) -> None:
    """Start one more kubelet (node <cluster>-node-<next>)."""
    state, directory = _load(name)
    node = lifecycle.add_node(state, directory)
    console.print(f"started kubelet-{node} (pid {state.components['kubelet-' + node].pid}); "
                  f"`kubectl get nodes` shows it once it registers")


@main.command("remove-node")
@name_option
@click.argument("node")
def remove_node(name: str, node: str) -> None:
    """Stop a node's kubelet, delete its Node object and remove its containers."""
    state, directory = _load(name)
    try:
        deleted, removed = lifecycle.remove_node(state, node, directory)
    except KeyError as err:
        raise click.UsageError(err.args[0]) from err
    console.print(f"removed node {node}: kubelet stopped, Node object {'deleted' if deleted else 'not found'}, "
                  f"{removed} container(s) removed")


@main.command("chaos")
@name_option
@click.option("--every", default="10s", show_default=True, help="time between two kills")
@click.option("--duration", default="5m", show_default=True, help="how long the experiment runs")
@click.option("--targets", default="*", show_default=True,
              help="comma list of fnmatch patterns of components ('-pattern' excludes), e.g. scheduler,kubelet-*")
@click.option("--restart-after", default="5s", show_default=True, help="delay before a victim is restarted")
@click.option("--signal", "sig", type=click.Choice(sorted(SIGNALS)), default="KILL", show_default=True)
@click.option("--seed", type=int, default=None, help="random seed, to replay an experiment")
def chaos_cmd(name: str, every: str, duration: str, targets: str, restart_after: str, sig: str,
              seed: int | None) -> None:
    """Kill random components on a schedule and restart each after a delay; every fault is logged."""
    from kubeling import chaos

    state, directory = _load(name)
    if not cluster.match_targets(targets, state.components):
        raise click.UsageError(f"--targets {targets!r} matches no component ({', '.join(state.components)})")
    plan = chaos.Plan(targets, _duration(every), _duration(duration), _duration(restart_after), random.Random(seed))

    def running() -> list[str]:
        return [n for n, c in state.components.items() if processes.alive(c)]

    def kill_one(component: str, signum: int) -> int | None:
        c = state.components[component]
        processes.send_signal(c, signum)
        processes.wait_exit(c, 5.0)
        return c.pid

    def restart_one(component: str) -> int | None:
        try:
            return lifecycle.restart(state, component, directory)
        except lifecycle.SetupError as err:
            console.print(f"[red]{err}[/red]")
            return None

    try:
        chaos.run(plan, running=running, kill=kill_one, restart=restart_one, log_file=directory / "chaos.log",
                  sig=SIGNALS[sig], echo=lambda line: console.print(line))
    except KeyboardInterrupt:
        console.print("interrupted")


# ---- images ------------------------------------------------------------------------------------------------------

@main.group()
def images() -> None:
    """Offline images (built from the host's busybox, no registry)."""


@images.command("build")
@click.option("--force", is_flag=True, help="Rebuild even the images that are up to date.")
@click.option("--base", is_flag=True, help="Instead: the compose lab's Python base and etcd images and its wheelhouse "
              "(debootstrap, needs root; see deploy/README.md).")
def images_build(force: bool, base: bool) -> None:
    """Build kubeling's images (deploy/images) into the local Docker daemon."""
    if base:
        from kubeling.images_base import cli_build_base

        raise SystemExit(cli_build_base(console, force=force))
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

