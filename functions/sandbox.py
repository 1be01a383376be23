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

Network. Every sandboxed process has a network namespace of its own: only a loopback device, so no address of the
host, its networks or the internet exists for it (TCP, UDP, raw: the kernel has no route). Its one way out is a
Unix socket bind-mounted into the sandbox, which this process serves: for a function worker, ``ApiBridge`` (the
runner listens on ``parley-api:8000`` inside and pipes each connection to the socket, and this process on to
``PARLEY_API_URL``); for npm, ``RegistryGate``, an HTTP proxy that connects to the npm registry's host and port
only, so that no dependency of a dependency (a tarball URL, a git host) can make npm reach anything else.

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
import threading
from collections.abc import Iterable, Iterator, Sequence
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
# What npm may take from Parley's environment: which registry, and how to trust its certificate; nothing else.
NPM_PASSED_VARIABLES = ("NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE")
CERTIFICATE_FILES = ("/etc/ssl", "/etc/ca-certificates")
REGISTRY_PROXY = "http://127.0.0.1:3128"  # inside npm's sandbox: functions/node/npm-in-sandbox.mjs
DEFAULT_REGISTRY = "https://registry.npmjs.org/"
GATE_HEAD_LIMIT = 16 * 1024
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
    bridge: Path | None = None,
    workdir: Path | None = None,
    npm: bool = False,
) -> list[str]:
    """``command`` under bubblewrap, seeing only ``read_only`` and ``writable`` folders (at their own paths), its
    way out the socket in ``bridge`` (mounted at ``BRIDGE_INSIDE``, with its hosts file); ``npm`` also gives it the
    certificates TLS needs and a larger ``/tmp`` for npm's cache."""
    bwrap = shutil.which(settings.PARLEY_FUNCTIONS_BWRAP) or settings.PARLEY_FUNCTIONS_BWRAP
    arguments = [bwrap, "--unshare-all", "--die-with-parent", "--new-session"]
    arguments += ["--hostname", "parley-function", *_system_mounts(), "--proc", "/proc", "--dev", "/dev"]
    arguments += ["--size", str(NPM_TMP_BYTES if npm else WORKER_TMP_BYTES), "--tmpfs", PRIVATE_TMP]
    if npm:
        for name in CERTIFICATE_FILES:
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


def npm_environment(node_bin: Path, home: str, *, gated: bool) -> dict[str, str]:
    """npm's whole environment: its own paths (its home and cache in ``home``), the registry settings the operator
    gave Parley (``npm_config_*``), and, ``gated`` (in a sandbox), the registry gate as its only proxy."""
    environment = {"PATH": str(node_bin)}
    for name, value in os.environ.items():
        if name.upper() in NPM_PASSED_VARIABLES or name.lower().startswith("npm_config_"):
            environment[name] = value
    environment.update({"HOME": home, "npm_config_cache": f"{home}/.npm"})
    if gated:
        gate = {"npm_config_proxy": REGISTRY_PROXY, "npm_config_https_proxy": REGISTRY_PROXY, "npm_config_noproxy": ""}
        environment.update({**gate, "PARLEY_REGISTRY_GATE": API_SOCKET_INSIDE})
    return environment


def registry_address() -> tuple[str, int]:
    """The host and port of the npm registry Parley installs from (``npm_config_registry``, else npm's own)."""
    url = next((v for k, v in os.environ.items() if k.lower() == "npm_config_registry"), "") or DEFAULT_REGISTRY
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


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


class SocketBridge:
    """A sandbox's one way out: a folder, bind-mounted into the sandbox at ``BRIDGE_INSIDE``, holding the hosts file
    it resolves names with and the Unix socket this process serves (``connected`` handles each connection)."""

    def __init__(self, prefix: str, hosts: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix=prefix))
        self.folder.chmod(0o755)
        (self.folder / "hosts").write_text(hosts)
        (self.folder / "hosts").chmod(0o644)
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        """Listen (on the running loop)."""
        path = self.folder / "api.sock"
        self.server = await asyncio.start_unix_server(self.connected, path=str(path))
        path.chmod(0o666)  # any application's user may connect: each bridge leads to one public place only

    async def connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection from inside the sandbox."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop listening and remove the socket."""
        if self.server is not None:
            self.server.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class RegistryGate(SocketBridge):
    """npm's one way out of its sandbox: an HTTP proxy that opens connections to the registry's host and port only,
    whatever npm asks for: ``CONNECT host:port`` tunnels, and plain requests in absolute form. A connection, once
    open, stays with the registry, so a later request on it for another host reaches the registry too, never that
    host. It serves on a loop of its own thread while ``running``."""

    def __init__(self) -> None:
        super().__init__("parley-functions-gate-", "127.0.0.1 localhost\n")
        self.allowed = registry_address()

    @contextlib.contextmanager
    def running(self) -> Iterator["RegistryGate"]:
        """Serve while the block runs (an npm install), then remove the socket."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="registry-gate", daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(self.start(), loop).result()
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(self.close)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)

    async def connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Proxy one request to the registry, or refuse it (403)."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        method, _, rest = head.partition(b" ")
        target = rest.split(b" ", 1)[0].decode("latin-1")
        parts = urlsplit(target if method != b"CONNECT" else f"//{target}")
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
        if (host, port) != self.allowed or len(head) > GATE_HEAD_LIMIT:
            writer.write(b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        if method == b"CONNECT":
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        else:
            upstream_writer.write(head)
        await asyncio.gather(_copy(reader, upstream_writer), _copy(upstream_reader, writer))


class ApiBridge(SocketBridge):
    """A function worker's one way out of its network namespace: the hosts file names ``parley-api``, and each
    connection is piped to ``PARLEY_API_URL``."""

    def __init__(self) -> None:
        super().__init__("parley-functions-bridge-", f"127.0.0.1 localhost {API_HOST}\n")

    async def connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Pipe one connection to the Platform API."""
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
