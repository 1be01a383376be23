"""Two Parley hosts on this machine, as two machines behind a load balancer would run it: each has its own state
folder, functions folder, ``config.serve`` and Celery worker on its own ports, and they share only PostgreSQL, Redis
and an S3-compatible object store. Clients on different hosts chat, a file uploaded through one downloads through
the other, an import uploaded through one is run by the other's worker, and a function deployed through one runs on
the other; nothing is written to either host's local media folder."""

import base64
import shutil
import subprocess
import tempfile
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from chat.models import Application, ChatUser, Message
from functions.models import Invocation, InvocationStatus
from imports.models import Job, JobState
from tests.conftest import Bucket
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory
from tests.live import LiveServer, call, celery_worker, live_server, server_environment, wait_for
from tests.sdk.test_sdks import run_node

IS_SEVEN = 'import isNumber from "is-number";\nasync function handleEvent(e: any) { return isNumber("7"); }'


@dataclass
class Host:
    """One Parley host: its server, its worker (a process group), and its local folders."""

    name: str
    server: LiveServer
    worker: subprocess.Popen[bytes]
    state: Path
    functions: Path

    def token(self, application: Application) -> str:
        basic = base64.b64encode(f"{application.key}:{application.secret}".encode()).decode()  # type: ignore[attr-defined]
        status, granted = call(
            f"{self.server.url}/oauth/token", "POST", basic=basic, body=b"grant_type=client_credentials"
        )
        assert status == 200, granted
        return str(granted["access_token"])

    def api(self, application: Application, method: str, path: str, body: Any = None) -> Any:
        status, answer = call(f"{self.server.url}{path}", method, token=self.token(application), body=body)
        assert 200 <= status < 300, (self.name, path, status, answer)
        return answer

    def upload(self, application: Application, path: str, content: bytes) -> Any:
        """POST ``content`` as the multipart field ``file``, as the SDKs upload import files."""
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="items.json"\r\n'
                f"Content-Type: application/json\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(  # noqa: S310  (the test's own server)
            f"{self.server.url}{path}",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {self.token(application)}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310
            return orjson.loads(answer.read())

    def stored_locally(self) -> list[Path]:
        """Files in this host's local media folder (there should be none: files live in the object store)."""
        media = self.state / "media"
        return [path for path in media.rglob("*") if path.is_file()] if media.exists() else []


@contextmanager
def host(name: str, shared: dict[str, str], stack: ExitStack) -> Iterator[Host]:
    """Start a host: its server (one web process) and its Celery worker, on folders of its own."""
    state = Path(tempfile.mkdtemp(prefix=f"parley-host-{name}-"))
    # function folders live directly under /tmp, where the sandboxed application users may enter them
    functions = Path(tempfile.gettempdir()) / f"parley-test-functions-host-{name}-{uuid.uuid4().hex}"
    stack.callback(shutil.rmtree, state, ignore_errors=True)
    stack.callback(shutil.rmtree, functions, ignore_errors=True)
    environment = {**shared, "PARLEY_STATE_DIR": str(state), "PARLEY_FUNCTIONS_DIR": str(functions)}
    with (
        live_server(workers=1, env=environment) as server,
        celery_worker({**environment, "PARLEY_API_URL": server.url}) as worker,
    ):
        yield Host(name, server, worker, state, functions)


def test_two_hosts_sharing_only_postgresql_redis_and_s3_serve_one_platform(
    transactional_db: None, object_storage: Bucket
) -> None:
    # given: an application with a channel, and two hosts sharing only the database, Redis and the bucket
    application = ApplicationFactory.create()
    members = [UserFactory.create(application=application, name=name) for name in ("jane", "bob")]
    ChannelFactory.create(application=application, name="general", members=members)
    shared = {**server_environment(), **object_storage.environment}
    with ExitStack() as stack:
        a = stack.enter_context(host("a", shared, stack))
        b = stack.enter_context(host("b", shared, stack))

        # when jane chats on host A and bob on host B, and jane sends a file through A that bob downloads through B
        chat = run_node(
            "core_two_hosts_scenario.mjs",
            {
                "PARLEY_HOST": a.server.url.removeprefix("http://"),
                "PARLEY_HOST_B": b.server.url.removeprefix("http://"),
                "API_KEY": application.key,
            },
        )

        # then they hear each other live, each on a socket of their own host
        assert chat["sockets"] == {"jane": [a.server.url[7:]], "bob": [b.server.url[7:]]}
        assert chat["heard"]["bob"] == ["hello from host A", "hello from host B", "notes.txt"]
        assert chat["heard"]["jane"][:2] == ["hello from host A", "hello from host B"]
        assert chat["file"] == {
            "uploadedThrough": a.server.url[7:],
            "downloadedThrough": b.server.url[7:],
            "status": 200,
            "body": "a file uploaded through host A",
            "id": chat["file"]["id"],
        }
        file_key = Message.objects.get(pk=chat["file"]["id"]).file["url"].split("/rtm/", 1)[1]
        assert object_storage.objects() == [f"parley/{file_key}"]

        # when host A's worker is gone, an import uploaded through A waits for host B's worker
        a.worker.terminate()
        a.worker.wait(timeout=30)
        items = orjson.dumps([{"name": "ada"}, {"name": "grace"}])
        job_id = a.upload(application, "/v1/imports/users", items)["id"]
        wait_for(
            lambda: Job.objects.get(pk=job_id).state in {JobState.FINISHED, JobState.FAILED}, "the import", timeout=60
        )

        # then B's worker read the upload from the bucket and made the users
        job = b.api(application, "GET", f"/v1/jobs/{job_id}")
        assert (job["state"], job["progress"]["created"]) == ("FINISHED", 2), job
        assert {"ada", "grace"} <= set(ChatUser.objects.filter(application=application).values_list("name", flat=True))

        # when a function and its dependency are deployed through A, and a channel made through B triggers it
        b_before = set(b.functions.rglob("node_modules"))
        a.api(application, "PUT", "/v1/runtimes/nodejs/dependencies", [{"name": "is-number", "version": "7.0.0"}])
        function = a.api(application, "POST", "/v1/runtimes/nodejs/functions", {"type": "channel.created", "name": "f"})
        a.api(application, "POST", f"/v1/functions/{function['id']}/versions", {"handlerScript": IS_SEVEN})
        b.api(application, "POST", "/v1/channels", {"type": "PUBLIC", "name": "made-on-b"})
        ended = Invocation.objects.filter(function_id=function["id"]).exclude(status=InvocationStatus.RUNNING)
        run = wait_for(ended.first, "the function's run", timeout=120)

        # then B's worker ran it, with the dependency set it installed on its own host from the stored spec
        assert (run.status, run.result) == (InvocationStatus.SUCCEEDED, True), run.error
        installed = set(b.functions.rglob("node_modules/is-number")) - b_before
        assert installed, "host B installed nothing"
        assert all(path.is_relative_to(b.functions / "apps" / str(application.pk)) for path in installed)

        # and neither host kept a stored file on its own disk
        assert (a.stored_locally(), b.stored_locally()) == ([], [])
