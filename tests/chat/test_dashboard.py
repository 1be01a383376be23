"""The dashboard's applications and jobs: credentials shown once, settings checked by the API's action, a home page
with the numbers, rotation after confirmation, staff users limited to their applications, jobs started and read."""

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat.actions.users import check_set_user_secret
from chat.models import Application, Channel, ChatUser, Message
from functions.models import ChatFunction, FunctionVersion, Invocation, Runtime
from imports import jobs
from imports.models import Job, JobState
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory, send

pytestmark = pytest.mark.django_db


def shown(response: Any) -> list[str]:
    """The messages the page after ``response`` shows."""
    return [str(message) for message in get_messages(response.wsgi_request)]


def streamed(response: Any) -> str:
    """The text of a streamed download."""
    return b"".join(response.streaming_content).decode()


def staff_client(*applications: Application) -> Client:
    """A logged-in staff user (no Django model permissions) who runs ``applications``."""
    user = User.objects.create_user("operator", password="pw", is_staff=True)  # noqa: S106
    for application in applications:
        application.administrators.add(user)
    client = Client()
    client.force_login(user)
    return client


def test_an_application_is_created_with_its_secret_shown_once(admin_client: Client) -> None:
    # when
    created = admin_client.post(
        "/admin/chat/application/add/", {"name": "Acme", "session_authentication": "SIGNED_TOKEN"}
    )

    # then
    application = Application.objects.get(name="Acme")
    secret = re.search(r"client secret (\S+)", " ".join(shown(created))).group(1)  # type: ignore[union-attr]
    push_secret = re.search(r"socket service secret (\S+)", " ".join(shown(created))).group(1)  # type: ignore[union-attr]
    headers = {"Authorization": f"key={push_secret}"}
    pushed = Client().post("/wssv/send", {"channel": "news"}, content_type="application/json", headers=headers)
    assert pushed.status_code == 200
    assert created.status_code == 302
    assert application.oauth_client.client_id == application.key
    assert secret in admin_client.get(created["Location"]).content.decode()  # the page after creating shows it
    page = admin_client.get(f"/admin/chat/application/{application.pk}/change/").content.decode()
    assert application.key in page
    assert secret not in page  # and no page shows it again


def test_settings_are_checked_by_the_settings_action(admin_client: Client, application: Application) -> None:
    # given
    form = {
        "name": application.name,
        "guest_users": "ENABLED",
        "user_created_channels": "DISABLED",
        "session_authentication": "SIGNED_TOKEN",
        "session_token_public_key": "",
    }

    # when
    refused = admin_client.post(f"/admin/chat/application/{application.pk}/change/", form)
    accepted = admin_client.post(
        f"/admin/chat/application/{application.pk}/change/", {**form, "session_authentication": "UNSECURED"}
    )

    # then
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {
        "session_token_public_key": ["SIGNED_TOKEN session authentication needs sessionTokenPublicKey."]
    }
    assert accepted.status_code == 302
    application.refresh_from_db()
    assert (application.guest_users, application.session_authentication) == ("ENABLED", "UNSECURED")


def test_an_application_is_renamed_from_its_page(admin_client: Client, application: Application) -> None:
    # given
    form = {"name": "  Renamed  ", "guest_users": "DISABLED", "user_created_channels": "DISABLED"}

    # when
    renamed = admin_client.post(
        f"/admin/chat/application/{application.pk}/change/", {**form, "session_authentication": "UNSECURED"}
    )

    # then
    assert renamed.status_code == 302
    application.refresh_from_db()
    assert application.name == "Renamed"


def test_rotating_the_secret_asks_first_and_shows_the_new_one_once(
    admin_client: Client, application: Application
) -> None:
    # when
    asked = admin_client.get(f"/admin/chat/application/{application.pk}/rotate/")
    before = application.oauth_client.client_secret
    rotated = admin_client.post(f"/admin/chat/application/{application.pk}/rotate/", {"confirmed": "yes"})

    # then
    assert "Yes, rotate the secret" in asked.content.decode()
    application.oauth_client.refresh_from_db()
    assert application.oauth_client.client_secret != before
    assert any("New client secret" in message for message in shown(rotated))


def test_the_home_page_shows_the_applications_numbers(admin_client: Client, application: Application) -> None:
    # given
    ada = UserFactory.create(application=application, name="ada")
    channel = ChannelFactory.create(application=application, name="general", members=[ada])
    for n in range(3):
        send(channel, f"message {n}", user=ada)

    # when
    page = admin_client.get(f"/admin/chat/application/{application.pk}/home/")

    # then
    overview = page.context["overview"]
    assert (overview.users, overview.channels, overview.messages) == (1, 1, 3)
    assert len(overview.per_day) == 30
    assert overview.per_day[-1][1] == 3
    assert "Messages per day" in page.content.decode()


def test_every_dashboard_page_links_to_the_api_reference_and_console(admin_client: Client) -> None:
    # when
    pages = [admin_client.get(path).content.decode() for path in ("/admin/", "/admin/chat/application/")]

    # then
    for page in pages:
        assert '<a href="/v1/docs" id="api-reference">API reference</a>' in page
        assert '<a href="/v1/console" id="api-console">API console</a>' in page
    assert admin_client.get("/v1/console").status_code == 200


def test_a_staff_user_runs_only_their_applications(application: Application, other_application: Application) -> None:
    # given
    client = staff_client(application)
    Job.objects.create(application=other_application, type="USER_IMPORT")

    # when
    listing = client.get("/admin/chat/application/")
    own = client.get(f"/admin/chat/application/{application.pk}/home/")
    other_home = client.get(f"/admin/chat/application/{other_application.pk}/home/")
    other_change = client.get(f"/admin/chat/application/{other_application.pk}/change/")
    jobs_page = client.get("/admin/imports/job/")

    # then
    assert list(listing.context["cl"].queryset) == [application]
    assert own.status_code == 200
    assert other_home.status_code == 404
    assert other_change.status_code == 302  # the admin's "does not exist" redirect
    assert jobs_page.status_code == 200
    assert list(jobs_page.context["cl"].queryset) == []


def test_an_import_is_uploaded_watched_and_its_failures_read(admin_client: Client, application: Application) -> None:
    # given
    upload = SimpleUploadedFile("users.json", b'[{"name": "ada"}, {"name": ""}]', content_type="application/json")

    # when
    started = admin_client.post(
        "/admin/imports/job/add/", {"application": application.pk, "type": "USER_IMPORT", "file": upload}
    )
    job = Job.objects.get()
    waiting = admin_client.get(f"/admin/imports/job/{job.pk}/change/")
    jobs.run(job.pk)
    done = admin_client.get(f"/admin/imports/job/{job.pk}/change/")
    report = admin_client.get(f"/admin/imports/job/{job.pk}/errors.csv")

    # then
    assert started.status_code == 302
    assert '<meta http-equiv="refresh"' in waiting.content.decode()
    page = done.content.decode()
    assert '<meta http-equiv="refresh"' not in page
    assert 'data-state="FINISHED"' in page
    assert "name must not be blank." in page
    assert streamed(report).splitlines() == [
        "row,field,message",
        "2,name,name must not be blank.",
    ]


def test_the_start_form_says_what_is_wrong(admin_client: Client, application: Application) -> None:
    # given
    ada, bob = (UserFactory.create(application=application) for _ in range(2))
    direct = ChannelFactory.create(application=application, channel_type="DIRECT", name=None, members=[ada, bob])

    # when
    no_file = admin_client.post("/admin/imports/job/add/", {"application": application.pk, "type": "USER_IMPORT"})
    into_direct = admin_client.post(
        "/admin/imports/job/add/",
        {
            "application": application.pk,
            "type": "CHANNEL_MEMBERS_IMPORT",
            "channel": direct.pk,
            "file": SimpleUploadedFile("m.json", b"[]"),
        },
    )

    # then
    assert no_file.context["adminform"].form.errors == {"file": ["An import needs a JSON array file."]}
    assert "channel" in into_direct.context["adminform"].form.errors
    assert not Job.objects.exists()


def test_an_export_is_started_and_downloaded(admin_client: Client, application: Application) -> None:
    # given
    UserFactory.create(application=application, name="ada")

    # when
    admin_client.post("/admin/imports/job/add/", {"application": application.pk, "type": "USER_ANALYTICS_EXPORT"})
    job = Job.objects.get()
    jobs.run(job.pk)
    download = admin_client.get(f"/admin/imports/job/{job.pk}/file")

    # then
    assert Job.objects.get().state == JobState.FINISHED
    assert streamed(download).splitlines()[1].split(",")[1] == "ada"


def test_a_users_page_shows_their_channels_messages_sessions_and_secret_names_only(
    admin_client: Client, application: Application
) -> None:
    # given
    ada = UserFactory.create(application=application, name="ada")
    channel = ChannelFactory.create(application=application, name="general", members=[ada])
    send(channel, "hello from ada", user=ada)
    check_set_user_secret(ada, "api-token", {"value": "s3cr3t-value"})

    # when
    found = admin_client.get("/admin/chat/chatuser/", {"q": "ad"})
    page = admin_client.get(f"/admin/chat/chatuser/{ada.pk}/change/").content.decode()

    # then
    assert list(found.context["cl"].queryset) == [ada]
    assert "general" in page
    assert "hello from ada" in page
    assert "api-token" in page
    assert "s3cr3t-value" not in page


def test_a_user_is_created_edited_and_deleted_after_confirming(admin_client: Client, application: Application) -> None:
    # when
    admin_client.post(
        "/admin/chat/chatuser/add/",
        {"application": application.pk, "name": "cy", "display_name": "Cy", "properties": '{"team": "red"}'},
    )
    cy = ChatUser.objects.get(name="cy")
    taken = admin_client.post(
        "/admin/chat/chatuser/add/",
        {"application": application.pk, "name": "cy", "display_name": "x", "properties": "{}"},
    )
    admin_client.post(f"/admin/chat/chatuser/{cy.pk}/change/", {"display_name": "Cyrus", "properties": '{"level": 2}'})
    action = {"action": "delete_users", "_selected_action": [cy.pk]}
    asked = admin_client.post("/admin/chat/chatuser/", action)
    still_there = ChatUser.objects.get(pk=cy.pk).deleted_time is None
    admin_client.post("/admin/chat/chatuser/", {**action, "confirmed": "yes"})

    # then
    assert taken.status_code == 200
    assert "already exists" in taken.content.decode()
    cy.refresh_from_db()
    assert (cy.display_name, cy.properties) == ("Cyrus", {"level": 2})
    assert "Yes, delete them" in asked.content.decode()
    assert still_there
    assert cy.deleted_time is not None


def test_a_channels_page_posts_as_the_system_and_removes_members_after_confirming(
    admin_client: Client, application: Application
) -> None:
    # given
    ada, bob = UserFactory.create(application=application, name="ada"), UserFactory.create(application=application)
    channel = ChannelFactory.create(application=application, name="general", members=[ada, bob])

    # when
    posted = admin_client.post(f"/admin/chat/channel/{channel.pk}/post/", {"body": "Maintenance at noon"})
    blank = admin_client.post(f"/admin/chat/channel/{channel.pk}/post/", {"body": "   "})
    asked = admin_client.get(f"/admin/chat/channel/{channel.pk}/members/{ada.pk}/remove/")
    admin_client.post(f"/admin/chat/channel/{channel.pk}/members/{ada.pk}/remove/", {"confirmed": "yes"})
    page = admin_client.get(f"/admin/chat/channel/{channel.pk}/change/").content.decode()

    # then
    assert posted.status_code == 302
    message = Message.objects.get(channel=channel)
    assert (message.type, message.user, message.body) == ("SYSTEM_TEXT", None, "Maintenance at noon")
    assert blank.status_code == 200
    assert blank.context["form"].errors
    assert "Yes, remove them" in asked.content.decode()
    assert set(channel.memberships.values_list("user__name", flat=True)) == {bob.name}
    assert "Maintenance at noon" in page


def test_messages_are_searched_and_deleted_after_confirming(admin_client: Client, application: Application) -> None:
    # given
    ada = UserFactory.create(application=application, name="ada")
    channel = ChannelFactory.create(application=application, name="general", members=[ada])
    spam, keep = send(channel, "buy cheap watches", user=ada), send(channel, "hello", user=ada)

    # when
    found = list(admin_client.get("/admin/chat/message/", {"q": "watches"}).context["cl"].queryset)
    action = {"action": "delete_messages", "_selected_action": [spam.pk]}
    asked = admin_client.post("/admin/chat/message/", action)
    admin_client.post("/admin/chat/message/", {**action, "confirmed": "yes"})

    # then
    assert found == [spam]
    assert "Yes, delete them" in asked.content.decode()
    assert list(Message.objects.filter(channel=channel)) == [keep]


def test_a_staff_user_sees_only_their_applications_users_channels_and_messages(
    application: Application, other_application: Application
) -> None:
    # given
    mine = UserFactory.create(application=application, name="mine")
    theirs = UserFactory.create(application=other_application, name="theirs")
    send(ChannelFactory.create(application=other_application, members=[theirs]), "secret plans", user=theirs)
    client = staff_client(application)

    # when
    users = client.get("/admin/chat/chatuser/")
    channels = client.get("/admin/chat/channel/")
    messages_page = client.get("/admin/chat/message/")
    other_user = client.get(f"/admin/chat/chatuser/{theirs.pk}/change/")

    # then
    assert list(users.context["cl"].queryset) == [mine]
    assert list(channels.context["cl"].queryset) == []
    assert list(messages_page.context["cl"].queryset) == []
    assert other_user.status_code == 302  # the admin's "does not exist" redirect


def test_the_channel_form_says_what_is_wrong(admin_client: Client, application: Application) -> None:
    # given
    ChannelFactory.create(application=application, name="general")
    form = {"application": application.pk, "type": "PUBLIC", "name": "general", "display_name": "", "properties": "{}"}

    # when
    taken = admin_client.post("/admin/chat/channel/add/", form)
    direct = admin_client.post("/admin/chat/channel/add/", {**form, "type": "DIRECT", "name": "dm"})
    created = admin_client.post("/admin/chat/channel/add/", {**form, "name": "random", "display_name": "Random"})

    # then
    assert taken.context["adminform"].form.errors == {"name": ["A channel named 'general' already exists."]}
    assert set(direct.context["adminform"].form.errors) == {"type"}
    assert created.status_code == 302
    assert Channel.objects.get(application=application, name="random").main_thread_id is not None


def test_the_application_filter_names_no_other_application(
    application: Application, other_application: Application
) -> None:
    # given
    UserFactory.create(application=application)
    UserFactory.create(application=other_application)
    client = staff_client(application)

    # when
    page = client.get("/admin/chat/chatuser/").content.decode()

    # then
    assert application.name in page
    assert other_application.name not in page


def test_the_home_page_shows_the_panels_other_apps_register(admin_client: Client, application: Application) -> None:
    # given: a job waiting, a function that failed, and another application's of each
    other = ApplicationFactory.create()
    for tenant in (application, other):
        Job.objects.create(application=tenant, type="USER_IMPORT", state=JobState.PENDING)
        runtime = Runtime.objects.create(application=tenant)
        function = ChatFunction.objects.create(
            application=tenant, runtime=runtime, type="user.sent.message", name=f"echo of {tenant.pk}"
        )
        version = FunctionVersion.objects.create(function=function, version_number=1, handler_script="x")
        Invocation.objects.create(function=function, version=version, args={}, status="FAILED", error="boom")

    # when
    page = admin_client.get(f"/admin/chat/application/{application.pk}/home/")

    # then
    panels = page.context["overview"].panels
    assert [(panel.title, len(panel.items)) for panel in panels] == [
        ("Jobs running", 1),
        ("Recent function failures", 1),
    ]
    text = page.content.decode()
    assert f"echo of {application.pk}" in text
    assert f"echo of {other.pk}" not in text
