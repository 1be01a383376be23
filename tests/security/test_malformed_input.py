"""Malformed input that answered 500: huge integers, pages beyond range, lookups smuggled through property filter
keys, ``..`` in file URLs, a null secret, too many members. Each is a 4xx naming the field, and changes nothing."""

from typing import Any

import pytest
from django.test import Client

from chat.models import ChatUser
from tests.conftest import Api
from tests.factories import ChannelFactory, UserFactory

HUGE = "9" * 30


@pytest.fixture
def jane(api: Api) -> ChatUser:
    return UserFactory.create(application=api.application, name="jane", properties={"team": "red"})


def test_huge_integers_in_paths_queries_and_bodies(api: Api, jane: ChatUser) -> None:
    channel = ChannelFactory.create(application=api.application, name="general", members=[jane])
    answers = {
        "path id": api.get(f"/v1/users/{HUGE}"),
        "path id of 19 digits": api.get("/v1/users/9999999999999999999"),
        "page": api.get("/v1/users", {"page": HUGE}),
        "size": api.get("/v1/users", {"size": HUGE}),
        "cursor": api.get(f"/v1/channels/{channel.pk}/messages", {"start": HUGE}),
        "body id": api.post(f"/v1/channels/{channel.pk}/members", '{"id": 18446744073709551615}'),
        "body id beyond 64 bits": api.post(f"/v1/channels/{channel.pk}/members", '{"id": ' + HUGE + "}"),
    }
    assert {why: answer.status_code for why, answer in answers.items()} == {
        "path id": 404,
        "path id of 19 digits": 404,
        "page": 400,
        "size": 400,
        "cursor": 400,
        "body id": 400,
        "body id beyond 64 bits": 400,
    }
    assert answers["page"].json()["field"] == "page"
    assert answers["cursor"].json()["field"] == "start"
    assert answers["body id"].json()["field"] == "id"


def test_a_page_beyond_the_last_is_empty(api: Api, jane: ChatUser) -> None:
    answer = api.get("/v1/users", {"page": 10**9, "size": 100})
    assert answer.status_code == 200
    assert answer.json()["_embedded"]["users"] == []


@pytest.mark.parametrize("key", ["team__contains", "team__isnull", "a__b__c", "pk", "team__regex"])
def test_property_filter_keys_are_keys_not_lookups(api: Api, jane: ChatUser, key: str) -> None:
    answer = api.get("/v1/users", {"properties": '{"' + key + '": "red"}'})
    assert answer.status_code == 200
    assert answer.json()["_embedded"]["users"] == []


def test_a_property_filter_still_finds_by_key(api: Api, jane: ChatUser) -> None:
    answer = api.get("/v1/users", {"properties": '{"team": "red"}'})
    assert [user["name"] for user in answer.json()["_embedded"]["users"]] == ["jane"]


@pytest.mark.parametrize(
    "path", ["/rtm/files/1/../x", "/rtm/files/1/..%2F..%2Fsettings/x", "/rtm/pictures/1/k/..", "/rtm/pictures/1/../.."]
)
def test_dot_dot_in_file_urls_is_not_found(client: Client, path: str) -> None:
    answer = client.get(path, {"grant": "x"})
    assert answer.status_code in (403, 404)


def test_a_null_secret_is_refused(api: Api, jane: ChatUser) -> None:
    answer = api.put(f"/v1/users/{jane.pk}/secrets/token", '{"secret": null}')
    assert answer.status_code == 400
    assert answer.json()["field"] == "secret"


def test_too_many_members_are_refused(api: Api) -> None:
    body: dict[str, Any] = {"type": "PRIVATE", "name": "big", "members": [{"username": f"u{n}"} for n in range(1001)]}
    answer = api.post("/v1/channels", body)
    assert answer.status_code == 400
    assert answer.json()["field"] == "members"
