"""Chat functions through the Platform API: the runtime, functions, versions, invocations; bad input; tenants."""

import pytest

from functions.models import ChatFunction, FunctionVersion, Invocation

HANDLER = "async function handleEvent(event, context) { return event.username; }"


def test_the_runtime_keeps_its_defaults_and_takes_dependencies_variables_and_a_script(api):
    # given
    runtime = api.get("/v1/runtimes/nodejs").json()

    # when
    deps = api.put("/v1/runtimes/nodejs/dependencies", [{"name": "lodash", "version": "^4.17.0"}])
    env = api.put("/v1/runtimes/nodejs/environment-variables", {"API_URL": "https://example.com"})
    script = api.put("/v1/runtimes/nodejs/initialization-script", {"script": "globalThis.ready = true;"})

    # then
    assert (runtime["type"], runtime["version"], runtime["environmentVariables"]) == ("NODEJS", "24", {})
    assert runtime["dependencies"] == [
        {"name": "chatkitty-platform-sdk", "version": "2.4.0", "defaultDependency": True}
    ]
    assert deps.status_code == 200
    assert [(d["name"], d["defaultDependency"]) for d in deps.json()["dependencies"]] == [
        ("chatkitty-platform-sdk", True),
        ("lodash", False),
    ]
    assert env.json()["environmentVariables"] == {"API_URL": "https://example.com"}
    assert script.json()["initializationScript"] == {"script": "globalThis.ready = true;"}
    assert api.get("/v1/runtimes/nodejs").json()["dependencies"][1]["version"] == "^4.17.0"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/runtimes/nodejs/dependencies", {"name": "x"}, "dependencies"),
        ("/v1/runtimes/nodejs/dependencies", [{"name": "Bad Name!", "version": "1"}], "dependencies[0].name"),
        ("/v1/runtimes/nodejs/dependencies", [{"name": "ok", "version": ""}], "dependencies[0].version"),
        ("/v1/runtimes/nodejs/environment-variables", {"CHATKITTY_CLIENT_SECRET": "x"}, "CHATKITTY_CLIENT_SECRET"),
        ("/v1/runtimes/nodejs/environment-variables", {"1BAD": "x"}, "1BAD"),
        ("/v1/runtimes/nodejs/environment-variables", {"N": 5}, "N"),
        ("/v1/runtimes/nodejs/initialization-script", {"script": 5}, "script"),
    ],
)
def test_bad_runtime_changes_name_the_field_and_change_nothing(api, path, body, field):
    before = api.get("/v1/runtimes/nodejs").json()
    response = api.put(path, body)
    assert response.status_code == 400
    assert field in response.json()["message"]
    assert api.get("/v1/runtimes/nodejs").json() == before


def test_a_function_is_created_versioned_disabled_and_listed(api):
    # given
    created = api.post("/v1/runtimes/nodejs/functions", {"type": "user.attempted.start_session", "name": "Gate"})
    function_id = created.json()["id"]

    # when
    first = api.post(f"/v1/functions/{function_id}/versions", {"handlerScript": HANDLER})
    second = api.post(f"/v1/functions/{function_id}/versions", {"handlerScript": HANDLER + "\n// v2"})
    disabled = api.patch(f"/v1/functions/{function_id}", {"enabled": False}, content_type="application/json")

    # then
    assert created.status_code == 200, created.content
    assert (created.json()["currentVersionNumber"], created.json()["enabled"]) == (0, True)
    assert created.json()["runtime"]["type"] == "NODEJS"
    assert (first.json()["versionNumber"], second.json()["versionNumber"]) == (1, 2)
    current = api.get(f"/v1/functions/{function_id}/current-version").json()
    assert (current["versionNumber"], current["handlerScript"]) == (2, HANDLER + "\n// v2")
    versions = api.get(f"/v1/functions/{function_id}/versions").json()["_embedded"]["versions"]
    assert [v["versionNumber"] for v in versions] == [1, 2]
    assert api.get(f"/v1/function-versions/{first.json()['id']}").json()["handlerScript"] == HANDLER
    assert disabled.json()["enabled"] is False
    assert api.get(f"/v1/functions/{function_id}").json()["currentVersionNumber"] == 2
    listed = api.get("/v1/runtimes/nodejs/functions").json()["_embedded"]["functions"]
    assert [f["name"] for f in listed] == ["Gate"]


def test_invocations_are_listed_newest_first_with_their_outcome(api, application):
    # given two recorded runs
    function_id = api.post("/v1/runtimes/nodejs/functions", {"type": "user.sent.message", "name": "Echo"}).json()["id"]
    api.post(f"/v1/functions/{function_id}/versions", {"handlerScript": HANDLER})
    function = ChatFunction.objects.get(pk=function_id)
    version = FunctionVersion.objects.get(function=function)
    Invocation.objects.create(function=function, version=version, args={"n": 1}, status="SUCCEEDED", result=[1])
    Invocation.objects.create(
        function=function, version=version, args={"n": 2}, status="FAILED", error="boom", logs="x\\n", duration_ms=3
    )

    # when
    runs = api.get(f"/v1/functions/{function_id}/invocations").json()["_embedded"]["invocations"]

    # then
    assert [(r["args"], r["status"], r["versionNumber"]) for r in runs] == [
        ({"n": 2}, "FAILED", 1),
        ({"n": 1}, "SUCCEEDED", 1),
    ]
    assert (runs[0]["error"], runs[0]["durationMs"]) == ("boom", 3)


def test_function_refusals_and_tenants(api, other_api):
    gate = {"type": "user.attempted.start_session", "name": "Gate"}
    function_id = api.post("/v1/runtimes/nodejs/functions", gate).json()["id"]
    answers = {
        "same type twice": api.post("/v1/runtimes/nodejs/functions", gate),
        "unknown type": api.post("/v1/runtimes/nodejs/functions", {"type": "user.did.things", "name": "x"}),
        "no name": api.post("/v1/runtimes/nodejs/functions", {"type": "user.sent.message"}),
        "blank handler": api.post(f"/v1/functions/{function_id}/versions", {"handlerScript": "  "}),
        "no version yet": api.get(f"/v1/functions/{function_id}/current-version"),
        "another tenant's function": other_api.get(f"/v1/functions/{function_id}"),
        "another tenant's versions": other_api.post(
            f"/v1/functions/{function_id}/versions", {"handlerScript": HANDLER}
        ),
    }
    assert {why: a.status_code for why, a in answers.items()} == {
        "same type twice": 409,
        "unknown type": 400,
        "no name": 400,
        "blank handler": 400,
        "no version yet": 404,
        "another tenant's function": 404,
        "another tenant's versions": 404,
    }
    assert not FunctionVersion.objects.exists()
    assert other_api.get("/v1/runtimes/nodejs/functions").json()["_embedded"]["functions"] == []
