"""The dashboard in a real headless Chromium against a live server and a Celery worker: an administrator logs in,
creates an application and reads its credentials, sees its home page, uploads an import and watches it finish; a
staff user limited to one application is refused another's pages. Screenshots of each page go to test-artifacts/."""

import base64
import json
import re
import urllib.request

from django.contrib.auth.models import User
from playwright.sync_api import Browser, FilePayload, Page, expect

from chat.actions.applications import do_create_demo_application
from chat.models import Application, Channel, ChatUser
from functions.models import ChatFunction
from tests.chat.test_views import open_demo
from tests.conftest import ARTIFACTS
from tests.factories import ApplicationFactory
from tests.live import LiveServer, celery_worker, server_environment


def log_in(browser: Browser, server: LiveServer, username: str, password: str) -> Page:
    """A new browser page, logged in to the dashboard."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server.url + "/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_have_text("Parley")
    return page


def snap(page: Page, name: str) -> None:
    """Keep a screenshot of the page."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def token_status(server: LiveServer, key: str, secret: str) -> int:
    """The status of a client-credentials token request."""
    request = urllib.request.Request(  # noqa: S310  (the live server's http URL)
        server.url + "/oauth/token",
        data=b"grant_type=client_credentials",
        headers={
            "Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310
        return int(response.status)


def test_an_administrator_creates_an_application_and_imports_users_into_it(
    live_parley: LiveServer, chromium: Browser, tmp_path: object
) -> None:
    # given
    User.objects.create_superuser("admin", "admin@example.com", "admin-password")  # noqa: S106
    page = log_in(chromium, live_parley, "admin", "admin-password")
    snap(page, "index")

    # when: an application is created, its credentials read
    page.goto(live_parley.url + "/admin/chat/application/add/")
    page.fill("#id_name", "Acme")
    page.click("input[name=_save]")
    notice = page.locator(".messagelist .warning").inner_text()
    snap(page, "application-created")
    key, secret = re.search(r"Client id (\S+) — client secret (\S+) ", notice).groups()  # type: ignore[union-attr]
    application = Application.objects.get(name="Acme")

    # then the credentials work
    assert key == application.key
    assert token_status(live_parley, key, secret) == 200

    # when: its home page, then an import uploaded and watched until it ends
    page.goto(f"{live_parley.url}/admin/chat/application/{application.pk}/home/")
    expect(page.locator("#counts")).to_contain_text("Users")
    snap(page, "application-home")
    users = [{"name": "ada", "displayName": "Ada"}, {"name": "bob"}, {"name": ""}]
    with celery_worker(server_environment()):
        page.goto(live_parley.url + "/admin/imports/job/add/")
        page.select_option("#id_application", str(application.pk))
        page.select_option("#id_type", "USER_IMPORT")
        upload: FilePayload = {
            "name": "users.json",
            "mimeType": "application/json",
            "buffer": json.dumps(users).encode(),
        }
        page.set_input_files("#id_file", files=[upload])
        snap(page, "job-start")
        page.click("input[name=_save]")
        page.click("#result_list tbody tr:first-child th a")
        expect(page.locator('[data-state="FINISHED"]')).to_be_visible(timeout=30_000)
    snap(page, "job-finished")

    # then
    assert set(ChatUser.objects.filter(application=application).values_list("name", flat=True)) == {"ada", "bob"}
    expect(page.locator("#job-errors")).to_contain_text("name must not be blank.")


def test_a_staff_user_limited_to_one_application_is_refused_another(live_parley: LiveServer, chromium: Browser) -> None:
    # given
    mine, theirs = ApplicationFactory.create(name="Mine"), ApplicationFactory.create(name="Theirs")
    operator = User.objects.create_user("operator", password="operator-password", is_staff=True)  # noqa: S106
    mine.administrators.add(operator)
    page = log_in(chromium, live_parley, "operator", "operator-password")

    # when
    page.goto(live_parley.url + "/admin/chat/application/")
    snap(page, "staff-applications")
    listed = page.locator("#result_list tbody tr").all_inner_texts()
    refused = page.goto(f"{live_parley.url}/admin/chat/application/{theirs.pk}/home/")
    snap(page, "staff-refused")

    # then
    assert len(listed) == 1
    assert "Mine" in listed[0]
    assert refused is not None
    assert refused.status == 404


def test_an_administrator_creates_users_and_a_channel_and_posts_into_the_live_demo(
    live_parley: LiveServer, chromium: Browser
) -> None:
    # given: the demo application, with ada chatting in its lobby in another browser page
    demo, _ = do_create_demo_application()
    User.objects.create_superuser("admin", "admin@example.com", "admin-password")  # noqa: S106
    ada = open_demo(chromium, live_parley, "ada")
    page = log_in(chromium, live_parley, "admin", "admin-password")

    # when: users and a channel are created, then a message posted as the system into the lobby
    for name in ("grace", "alan"):
        page.goto(live_parley.url + "/admin/chat/chatuser/add/")
        page.select_option("#id_application", str(demo.pk))
        page.fill("#id_name", name)
        page.fill("#id_display_name", name.title())
        page.click("input[name=_save]")
        expect(page.locator(".messagelist .success")).to_be_visible()
    page.goto(live_parley.url + "/admin/chat/channel/add/")
    page.select_option("#id_application", str(demo.pk))
    page.select_option("#id_type", "PRIVATE")
    page.fill("#id_name", "ops")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    snap(page, "channels")
    lobby = Channel.objects.get(application=demo, name="lobby")
    page.goto(f"{live_parley.url}/admin/chat/channel/{lobby.pk}/change/")
    page.click("text=Post as the system")
    page.fill("#id_body", "Maintenance at noon")
    snap(page, "post")
    page.click("input[value=Post]")
    snap(page, "channel")

    # then
    expect(ada.locator("#messages li.system .body")).to_have_text(["Maintenance at noon"])
    assert set(
        ChatUser.objects.filter(application=demo, name__in=["grace", "alan"]).values_list("name", flat=True)
    ) == {
        "grace",
        "alan",
    }
    assert Channel.objects.get(application=demo, name="ops").type == "PRIVATE"
    page.goto(live_parley.url + "/admin/chat/chatuser/?q=grace")
    snap(page, "users")


def test_an_administrator_edits_and_deploys_a_function_and_sees_its_invocation(
    live_parley: LiveServer, chromium: Browser
) -> None:
    # given
    application = ApplicationFactory.create(name="Acme")
    User.objects.create_superuser("admin", "admin@example.com", "admin-password")  # noqa: S106
    page = log_in(chromium, live_parley, "admin", "admin-password")

    # when: a function is written in the editor and deployed, changed and deployed again, then test-run
    page.goto(live_parley.url + "/admin/functions/chatfunction/add/")
    page.select_option("#id_application", str(application.pk))
    page.select_option("#id_type", "user.sent.message")
    page.fill("#id_name", "echo")
    type_code(page, "async function handleEvent(event) {\nconsole.log('first');\nreturn 1;\n}")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success").first).to_contain_text("Deployed version 1")
    type_code(
        page,
        "async function handleEvent(event) {\nconsole.log('echo', event.user.name);\nreturn event.message.body;\n}",
    )
    snap(page, "function-editor")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success").first).to_contain_text("Deployed version 2")
    expect(page.locator(".cm-content span").first).to_be_visible()  # the code is highlighted, token by token
    page.select_option("#diff-a", "2")
    page.select_option("#diff-b", "1")
    page.click("#diff-any a")
    expect(page.locator("h1")).to_contain_text("version 2 → version 1")
    expect(page.locator("table.diff")).to_be_visible()
    snap(page, "function-diff")
    page.go_back()
    page.click("text=Test run")
    page.click("input[value=Run]")
    expect(page.locator("#test-status")).to_contain_text("SUCCEEDED", timeout=30_000)
    snap(page, "function-test-run")

    # then
    expect(page.locator("#test-logs")).to_contain_text("echo")
    function = ChatFunction.objects.get(application=application)
    page.goto(f"{live_parley.url}/admin/functions/chatfunction/{function.pk}/change/")
    expect(page.locator("#function-invocations")).to_contain_text("SUCCEEDED")
    snap(page, "function")
    assert function.current_version_number == 2


def type_code(page: Page, code: str) -> None:
    """Replace the code editor's text by typing, as a person would (the editor indents new lines itself)."""
    editor = page.locator(".cm-content").first
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(code)
