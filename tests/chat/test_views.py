"""The browser chat demo (/demo/) in a real headless Chromium: two pages pick names and chat live."""

from playwright.sync_api import Browser, Page, expect

from chat.actions.applications import do_create_demo_application
from chat.actions.messages import check_send_message
from chat.models import Channel, Message
from tests.conftest import ARTIFACTS
from tests.live import LiveServer


def open_demo(browser: Browser, server: LiveServer, name: str) -> Page:
    page = browser.new_page(viewport={"width": 1100, "height": 700})
    page.goto(server.url + "/demo/")
    page.fill("#name", name)
    page.click("#start")
    expect(page.locator("#channel-name")).to_have_text("# Lobby")
    expect(page.locator("#body")).to_be_enabled()
    return page


def test_the_demo_page_without_a_demo_application_says_how_to_make_one(client, db):
    response = client.get("/demo/")
    assert response.status_code == 404
    assert b"bootstrap_demo" in response.content


def test_two_browser_pages_chat_live_in_the_demo(live_parley: LiveServer, chromium: Browser) -> None:
    # given the demo application, and two people who open the page and pick names
    application, _ = do_create_demo_application()
    ada = open_demo(chromium, live_parley, "ada")
    bob = open_demo(chromium, live_parley, "bob")
    lobby = Channel.objects.get(application=application, name="lobby")

    # when ada types and sends, and bob answers
    ada.type("#body", "hello bob")
    expect(bob.locator("#typing")).to_have_text("ada is typing…")
    ada.press("#body", "Enter")
    expect(bob.locator("#messages li.theirs .body")).to_have_text(["hello bob"])
    expect(bob.locator("#typing")).to_have_text("")
    bob.fill("#body", "hi ada!")
    bob.click("#send")
    expect(ada.locator("#messages li.theirs .body")).to_have_text(["hi ada!"])
    check_send_message(lobby, message_type="TEXT", body="welcome from the backend")

    # then each page shows the conversation in order, their own messages as theirs, the backend's as the system's
    for page, mine, theirs in ((ada, "hello bob", "hi ada!"), (bob, "hi ada!", "hello bob")):
        expect(page.locator("#messages li .body")).to_have_text(["hello bob", "hi ada!", "welcome from the backend"])
        expect(page.locator("#messages li.mine .body")).to_have_text([mine])
        expect(page.locator("#messages li.theirs .body")).to_have_text([theirs])
        expect(page.locator("#messages li.system .body")).to_have_text(["welcome from the backend"])
    expect(ada.locator("#typing")).to_have_text("", timeout=6000)  # bob's late keystrokes time out
    ARTIFACTS.mkdir(exist_ok=True)
    ada.screenshot(path=str(ARTIFACTS / "demo-ada.png"))
    bob.screenshot(path=str(ARTIFACTS / "demo-bob.png"))
    stored = Message.objects.filter(channel=lobby).order_by("id")
    assert [(m.user.name if m.user else None, m.body) for m in stored] == [
        ("ada", "hello bob"),
        ("bob", "hi ada!"),
        (None, "welcome from the backend"),
    ]
    assert sorted(lobby.memberships.values_list("user__name", "user__is_guest")) == [("ada", True), ("bob", True)]
