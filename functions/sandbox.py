"""The operating-system boundary around tenant code (DESIGN rule 11): chat-function workers and the npm installs of
applications' dependencies run under bubblewrap, never behind Node's permission flags alone.

Each sandboxed process:
- runs as an unprivileged user: when Parley runs as root, a user of its own per application
  (``PARLEY_FUNCTIONS_UID_BASE`` + the application's id), else Parley's own unprivileged user; and in new user, PID,
  IPC, UTS, cgroup, mount and network namespaces, with no capabilities;
- sees a root holding only the system's shared libraries, Node.js, the runner's folder and its application's folder,
  all read-only (npm's staging folder is its one writable place), a private ``/proc``, an empty ``/dev`` and a small
  private ``/tmp``: nothing of the state directory, the database, media, other applications or Parley's sources;
- starts with an environment of only what it is given (the tenant's variables and the CHATKITTY_* ones).

Network. A function worker has a network namespace of its own: only a loopback device, so no address of the host,
its networks or the internet exists for it (TCP, UDP, raw: the kernel has no route). Parley's own API reaches it
through a Unix socket bind-mounted into the sandbox (``ApiBridge``): the runner listens on ``parley-api:8000``
inside and pipes each connection to that socket, and this process pipes it on to ``PARLEY_API_URL``. npm keeps the
host's network, since it must reach the registry, but it only ever receives registry specs (see
``functions.runtime.check_registry_specs``) and runs no package scripts.

Where bubblewrap cannot start, functions refuse to run with the reason, unless the operator sets
``PARLEY_FUNCTIONS_UNSAFE_NO_SANDBOX=1``: then workers run without namespaces, behind Node's permission model and the
runner's in-process network guard only (for development machines without user namespaces).
"""

import asyncio
import contextlib
import os
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

API_HOST = "parley-api"
API_PORT = 8000
API_URL_INSIDE = f"http://{API_HOST}:{API_PORT}"
BRIDGE_INSIDE = "/run/parley"
API_SOCKET_INSIDE = f"{BRIDGE_INSIDE}/api.sock"
PRIVATE_TMP = "/tmp"  # noqa: S108  (the sandbox's own tmpfs, not the host's)
WORKER_TMP_BYTES = 16 * 1024 * 1024
NPM_TMP_BYTES = 1024 * 1024 * 1024
# What npm may take from Parley's environment: how the operator reaches the registry, nothing else.
NPM_PASSED_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE")
RESOLVER_FILES = ("/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/ssl", "/etc/ca-certificates")
UNSAFE_HINT = (
    "Install bubblewrap (apt-get install bubblewrap) on a kernel that allows user namespaces, or set "
    "PARLEY_FUNCTIONS_UNSAFE_NO_SANDBOX=1 to run tenant code without an operating-system boundary (unsafe)."
)


class SandboxUnavailable(Exception):
    """The sandbox cannot start here; the message says why and what the operator can do."""


def enabled() -> bool:
    """Whether tenant code runs under bubblewrap (the default) rather than unsafely without it."""
    return not settings.PARLEY_FUNCTIONS_UNSAFE_NO_SANDBOX


def api_url() -> str:
    """The Platform API's address as tenant code calls it."""
    return API_URL_INSIDE if enabled() else settings.PARLEY_FUNCTIONS_API_URL


def application_uid(application_id: int) -> int | None:
    """The user an application's sandboxed processes run as (None: Parley's own, when it cannot switch users)."""
    if os.geteuid() != 0:
        return None
    return int(settings.PARLEY_FUNCTIONS_UID_BASE) + application_id


def process_options(application_id: int) -> dict[str, Any]:
    """Keyword arguments of ``subprocess``/``asyncio`` process creation that drop to the application's user."""
    uid = application_uid(application_id)
    if uid is None:
        return {}
    return {"user": uid, "group": uid, "extra_groups": []}


def hand_over(folder: Path, application_id: int) -> None:
    """Let only the application's user (and Parley) enter ``folder``: group-owned by that user, mode 0750."""
    uid = application_uid(application_id)
    if uid is not None:
        os.chown(folder, 0, uid)
        folder.chmod(0o750)


def own_tree(folder: Path) -> None:
    """Give back to Parley's user everything the application's user wrote under ``folder`` (so that the tenant can
    change none of it later), readable by all who may enter the folder."""
    if os.geteuid() != 0:
        return
    for path in [folder, *folder.rglob("*")]:
        os.lchown(path, 0, 0)
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)


def _system_mounts() -> list[str]:
    """The shared libraries Node.js needs (and time zones), read-only; nothing else of the host's root."""
    arguments: list[str] = []
    for name in ("/usr/lib", "/usr/lib64", "/usr/share/zoneinfo"):
        if Path(name).is_dir():
            arguments += ["--ro-bind", name, name]
    for name in ("/lib", "/lib64", "/lib32", "/libx32"):
        path = Path(name)
        if path.is_symlink():
            arguments += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            arguments += ["--ro-bind", name, name]
    return arguments


def wrap(
    command: Sequence[str],
    *,
    read_only: Iterable[Path],
    writable: Iterable[Path] = (),
    network: bool = False,
    bridge: Path | None = None,
    workdir: Path | None = None,
) -> list[str]:
    """``command`` under bubblewrap, seeing only ``read_only`` and ``writable`` folders (at their own paths)."""
    bwrap = shutil.which(settings.PARLEY_FUNCTIONS_BWRAP) or settings.PARLEY_FUNCTIONS_BWRAP
    arguments = [bwrap, "--unshare-all", "--die-with-parent", "--new-session"]
    arguments += ["--hostname", "parley-function", *_system_mounts(), "--proc", "/proc", "--dev", "/dev"]
    arguments += ["--size", str(NPM_TMP_BYTES if network else WORKER_TMP_BYTES), "--tmpfs", PRIVATE_TMP]
    if network:
        arguments.append("--share-net")
        for name in RESOLVER_FILES:
            arguments += ["--ro-bind-try", name, name]
        certificates = os.environ.get("NODE_EXTRA_CA_CERTS")
        if certificates:
            arguments += ["--ro-bind-try", certificates, certificates]
    if bridge is not None:
        arguments += ["--ro-bind", str(bridge), BRIDGE_INSIDE, "--ro-bind", str(bridge / "hosts"), "/etc/hosts"]
    for folder in read_only:
        arguments += ["--ro-bind", str(folder), str(folder)]
    for folder in writable:
        arguments += ["--bind", str(folder), str(folder)]
    if workdir is not None:
        arguments += ["--chdir", str(workdir)]
    return [*arguments, "--", *command]


def npm_environment(node_bin: Path, home: str) -> dict[str, str]:
    """npm's whole environment: its own paths (its home and cache in ``home``), and the registry settings the
    operator gave Parley."""
    environment = {"PATH": str(node_bin)}
    for name, value in os.environ.items():
        if name.upper() in NPM_PASSED_VARIABLES or name.lower().startswith("npm_config_"):
            environment[name] = value
    return {**environment, "HOME": home, "npm_config_cache": f"{home}/.npm"}


@lru_cache(maxsize=4)
def _probe(bwrap: str, node: str, base_uid: int) -> str:
    """Start a trivial sandboxed Node.js once per process; '' when it ran, else why not."""
    if shutil.which(bwrap) is None:
        return f"bubblewrap ({bwrap}) is not installed."
    command = wrap([node, "-e", "0"], read_only=[Path(node).parent])
    try:
        done = subprocess.run(  # noqa: S603  (fixed argv)
            command, capture_output=True, text=True, timeout=30, env={}, **process_options(0)
        )
    except (OSError, subprocess.SubprocessError) as error:
        return f"bubblewrap could not start: {error}"
    if done.returncode != 0:
        return f"bubblewrap could not start a sandbox: {(done.stderr or done.stdout).strip()[-500:]}"
    return ""


def check_available(node: Path) -> None:
    """Raise ``SandboxUnavailable`` unless sandboxed processes can start here (or the operator chose unsafe)."""
    if not enabled():
        return
    reason = _probe(settings.PARLEY_FUNCTIONS_BWRAP, str(node), int(settings.PARLEY_FUNCTIONS_UID_BASE))
    if reason:
        raise SandboxUnavailable(f"Chat functions cannot run: {reason} {UNSAFE_HINT}")


class ApiBridge:
    """The one way out of a function worker's network namespace: a Unix socket (bind-mounted into each sandbox with
    a hosts file naming ``parley-api``) whose connections this process pipes to ``PARLEY_API_URL``."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="parley-functions-bridge-"))
        self.folder.chmod(0o755)
        (self.folder / "hosts").write_text(f"127.0.0.1 localhost {API_HOST}\n")
        (self.folder / "hosts").chmod(0o644)
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        """Listen (on the running loop)."""
        path = self.folder / "api.sock"
        self.server = await asyncio.start_unix_server(self._pipe, path=str(path))
        path.chmod(0o666)  # any application's user may connect: it leads only to the public API

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        target = urlsplit(settings.PARLEY_FUNCTIONS_API_URL)
        secure = target.scheme == "https"
        port = target.port or (443 if secure else 80)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                target.hostname, port, ssl=ssl.create_default_context() if secure else None
            )
        except OSError:
            writer.close()
            return
        await asyncio.gather(_copy(reader, upstream_writer), _copy(upstream_reader, writer))

    def close(self) -> None:
        """Stop listening and remove the socket."""
        if self.server is not None:
            self.server.close()
        shutil.rmtree(self.folder, ignore_errors=True)


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            writer.close()
