"""Chat functions run by real Node.js workers: TypeScript, logs, failures, the sandbox, limits, dependencies, the
initialization script, and what the Platform API lists afterwards."""

import shutil
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from chat.models import Application
from functions import runtime
from functions.actions import do_run_function
from functions.models import ChatFunction, Invocation, InvocationStatus
from tests.conftest import Api

TYPESCRIPT = """
interface Greeting { to: string; times: number }
enum Mood { Happy = "happy", Grumpy = "grumpy" }

async function handleEvent(event: Greeting, context: Context): Promise<{ text: string; mood: Mood }> {
  const parts: string[] = [];
  for (let i = 0; i < event.times; i++) parts.push(`hello ${event.to}`);
  console.log("greeting", event.to);
  console.warn("careful");
  return { text: parts.join(", "), mood: Mood.Happy };
}
"""


def deploy(api: Api, function_type: str, script: str) -> ChatFunction:
    """Create the function through the Platform API and deploy ``script`` as its current version."""
    created = api.post("/v1/runtimes/nodejs/functions", {"type": function_type, "name": function_type})
    assert created.status_code == 200, created.content
    version = api.post(f"/v1/functions/{created.json()['id']}/versions", {"handlerScript": script})
    assert version.status_code == 200, version.content
    return ChatFunction.objects.select_related("application", "runtime").get(pk=created.json()["id"])


def run(function: ChatFunction, args: dict[str, Any] | None = None) -> Invocation:
    """Run the function's current version and return its recorded invocation."""
    invocation = do_run_function(function, args or {})
    assert invocation is not None
    return invocation


def test_a_typescript_handler_runs_with_its_logs_and_result(api: Api) -> None:
    # given
    function = deploy(api, "user.sent.message", TYPESCRIPT)

    # when
    invocation = run(function, {"to": "Ada", "times": 2})

    # then
    assert invocation.status == InvocationStatus.SUCCEEDED, invocation.error
    assert invocation.result == {"text": "hello Ada, hello Ada", "mood": "happy"}
    assert invocation.logs == "greeting Ada\n[warn] careful"
    assert invocation.duration_ms is not None


def test_versions_and_invocations_listed_through_the_api_match_what_ran(api: Api) -> None:
    # given
    function = deploy(api, "user.sent.message", "async function handleEvent(e) { return e.n * 2; }")
    first = run(function, {"n": 1})
    api.post(
        f"/v1/functions/{function.pk}/versions",
        {"handlerScript": "function handleEvent(e) { throw new Error('v2 ' + e.n) }"},
    )
    function.refresh_from_db()
    second = run(function, {"n": 2})

    # when
    versions = api.get(f"/v1/functions/{function.pk}/versions").json()["_embedded"]["versions"]
    invocations = api.get(f"/v1/functions/{function.pk}/invocations").json()["_embedded"]["invocations"]

    # then
    assert [v["versionNumber"] for v in versions] == [1, 2]
    assert [(i["id"], i["versionNumber"], i["args"], i["status"], i["result"]) for i in invocations] == [
        (second.pk, 2, {"n": 2}, "FAILED", None),
        (first.pk, 1, {"n": 1}, "SUCCEEDED", 2),
    ]
    assert invocations[0]["error"].startswith("Error: v2 2")
    assert "durationMs" in invocations[1]


def test_a_handler_that_throws_fails_its_run_and_the_next_run_is_fine(api: Api) -> None:
    # given
    function = deploy(
        api,
        "user.sent.message",
        "async function handleEvent(event) {"
        " if (event.fail) throw new TypeError('no good: ' + event.fail); return 'ok'; }",
    )

    # when
    failed = run(function, {"fail": "bad input"})
    thrown_value = run(function, {"fail": ""})

    # then
    assert failed.status == InvocationStatus.FAILED
    assert failed.error.startswith("TypeError: no good: bad input")
    assert failed.result is None
    assert thrown_value.status == InvocationStatus.SUCCEEDED
    assert thrown_value.result == "ok"


def test_an_endless_loop_is_stopped_at_the_time_limit_and_the_pool_stays_healthy(api: Api, settings: Any) -> None:
    # given
    settings.PARLEY_FUNCTIONS_TIMEOUT = 1.5
    function = deploy(api, "user.sent.message", "function handleEvent(e) { while (e.loop) {} return 'done'; }")

    # when
    looped = run(function, {"loop": True})
    after = run(function, {"loop": False})

    # then
    assert looped.status == InvocationStatus.FAILED
    assert looped.error == "The function did not finish within 1.5 s; its worker was stopped."
    assert (after.status, after.result) == (InvocationStatus.SUCCEEDED, "done")


def test_a_run_that_exhausts_its_memory_or_exits_fails_alone(api: Api, settings: Any) -> None:
    # given
    settings.PARLEY_FUNCTIONS_MEMORY_MB = 48
    function = deploy(
        api,
        "user.sent.message",
        """function handleEvent(e) {
          if (e.exit) process.exit(3);
          const hoard = [];
          while (e.hoard) hoard.push(new Array(100000).fill(hoard.length));
          return 'fine';
        }""",
    )

    # when
    hoarded = run(function, {"hoard": True})
    exited = run(function, {"exit": True})
    fine = run(function, {})

    # then
    assert hoarded.status == InvocationStatus.FAILED
    assert "heap" in hoarded.error.lower()
    assert exited.status == InvocationStatus.FAILED
    assert exited.error == "The worker running the function exited with code 3."
    assert (fine.status, fine.result) == (InvocationStatus.SUCCEEDED, "fine")


def test_a_handler_cannot_read_the_servers_files_environment_or_services(api: Api) -> None:
    # given
    api.put("/v1/runtimes/nodejs/environment-variables", {"GREETING": "hi"})
    function = deploy(
        api,
        "user.sent.message",
        """
        import fs from "node:fs";
        import net from "node:net";
        import childProcess from "node:child_process";

        const attempt = async (what: () => unknown) => {
          try { await what(); return "allowed"; } catch (error: any) { return error.code ?? error.message; }
        };

        async function handleEvent(event: any) {
          return {
            environment: Object.keys(process.env).sort(),
            passwd: await attempt(() => fs.readFileSync("/etc/passwd")),
            settings: await attempt(() => fs.readFileSync(event.settings)),
            write: await attempt(() => fs.writeFileSync("/tmp/parley-function-was-here", "x")),
            spawn: await attempt(() => childProcess.execSync("id")),
            database: await attempt(() => new Promise((resolve, reject) => {
              const socket = net.connect(5432, "127.0.0.1", () => { socket.destroy(); resolve(null); });
              socket.on("error", reject);
            })),
            redis: await attempt(() => fetch("http://localhost:6379/")),
          };
        }
        """,
    )

    # when
    invocation = run(function, {"settings": str(__import__("config.settings").settings.__file__)})

    # then
    assert invocation.status == InvocationStatus.SUCCEEDED, invocation.error
    assert invocation.result == {
        "environment": [
            "CHATKITTY_API_URL",
            "CHATKITTY_APPLICATION_ID",
            "CHATKITTY_CLIENT_ID",
            "CHATKITTY_CLIENT_SECRET",
            "GREETING",
        ],
        "passwd": "ERR_ACCESS_DENIED",
        "settings": "ERR_ACCESS_DENIED",
        "write": "ERR_ACCESS_DENIED",
        "spawn": "ERR_ACCESS_DENIED",
        "database": "EACCES",
        "redis": "fetch failed",
    }


def test_the_initialization_script_runs_once_per_worker_before_handlers(api: Api) -> None:
    # given
    api.put("/v1/runtimes/nodejs/initialization-script", {"script": "var foo: number = 8; var runs = 0;"})
    function = deploy(api, "user.sent.message", "function handleEvent() { runs += 1; return [foo, runs]; }")

    # when
    results = [run(function).result for _ in range(3)]

    # then
    assert results == [[8, 1], [8, 2], [8, 3]]


def test_a_failing_initialization_script_fails_the_run_and_says_why(api: Api) -> None:
    # given
    api.put("/v1/runtimes/nodejs/initialization-script", {"script": "throw new Error('no config');"})
    function = deploy(api, "user.sent.message", "function handleEvent() { return 1; }")

    # when
    invocation = run(function)

    # then
    assert invocation.status == InvocationStatus.FAILED
    assert invocation.error.startswith("The initialization script failed: ")
    assert "Error: no config" in invocation.error


def test_a_handler_imports_a_dependency_installed_through_the_api(api: Api, application: Application) -> None:
    # given
    installed = api.put("/v1/runtimes/nodejs/dependencies", [{"name": "is-number", "version": "7.0.0"}])
    function = deploy(
        api,
        "user.sent.message",
        'import isNumber from "is-number";\nasync function handleEvent(e) { return [isNumber(e.a), isNumber(e.b)]; }',
    )

    # when
    invocation = run(function, {"a": "42", "b": "forty-two"})

    # then
    assert installed.status_code == 200, installed.content
    assert (invocation.status, invocation.result) == (InvocationStatus.SUCCEEDED, [True, False]), invocation.error


def test_a_host_that_lacks_a_dependency_set_installs_it_once_when_its_processes_need_it(
    api: Api, application: Application, settings: Any
) -> None:
    # given: a function and its dependency set, installed through the API on this host
    assert api.put("/v1/runtimes/nodejs/dependencies", [{"name": "is-number", "version": "7.0.0"}]).status_code == 200
    function = deploy(
        api,
        "user.sent.message",
        'import isNumber from "is-number";\nasync function handleEvent(e) { return isNumber(e.a); }',
    )
    dependencies = application.runtime.dependencies
    # and another host, whose functions folder holds nothing yet
    settings.PARLEY_FUNCTIONS_DIR = Path(tempfile.gettempdir()) / f"parley-test-functions-{uuid.uuid4().hex}"
    try:
        # when four of its processes need the set at once, then run the function there
        with ThreadPoolExecutor(4) as pool:
            folders = set(pool.map(lambda _: runtime.install(application.pk, dependencies), range(4)))
        invocation = run(function, {"a": "7"})

        # then one install made the folder, whole, and the function runs from it
        (folder,) = folders
        assert folder.is_relative_to(settings.PARLEY_FUNCTIONS_DIR)
        assert (folder / "node_modules" / "is-number" / "package.json").is_file()
        assert [path.name for path in folder.parent.iterdir()] == [folder.name]
        assert (invocation.status, invocation.result) == (InvocationStatus.SUCCEEDED, True), invocation.error
    finally:
        shutil.rmtree(settings.PARLEY_FUNCTIONS_DIR, ignore_errors=True)


def test_a_dependency_that_does_not_install_is_refused_and_changes_nothing(api: Api) -> None:
    # given
    before = api.get("/v1/runtimes/nodejs").json()["dependencies"]

    # when
    refused = api.put("/v1/runtimes/nodejs/dependencies", [{"name": "parley-no-such-package-4711", "version": "1.0.0"}])

    # then
    assert refused.status_code == 400
    assert refused.json()["error"] == "InvalidArgumentError" or "npm install failed" in refused.json()["message"]
    assert "npm install failed" in refused.json()["message"]
    assert "404" in refused.json()["message"]
    assert api.get("/v1/runtimes/nodejs").json()["dependencies"] == before


@pytest.mark.parametrize("script", ["const x = 1;", "async function handle() {}"])
def test_a_script_without_a_handler_fails_with_a_clear_error(api: Api, script: str) -> None:
    # given
    function = deploy(api, "user.sent.message", script)

    # when
    invocation = run(function)

    # then
    assert invocation.status == InvocationStatus.FAILED
    assert "defines no handleEvent(event, context) function" in invocation.error
