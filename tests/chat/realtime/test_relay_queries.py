"""The hot relays of the browser SDK cost a fixed number of queries, however many channels, messages or users a page
holds: the channel list (all, unread), a channel's history, the unread counts and the directory."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.actions.sessions import do_start_user_session
from chat.models import Application, Channel, ChatUser
from chat.realtime import destinations
from chat.realtime.context import Session
from tests.factories import ChannelFactory, UserFactory, send

HOT = (
    "/application/user/channels.relay",
    "/application/user/unread_channels.relay",
    "/application/user/unread_channels.count.relay",
    "/application/user/unread_messages.count.relay",
    "/application/user/contacts.relay",
    "/application/channels/{general}/messages.relay",
    "/application/channels/{general}/unread.relay",
    "/application/channels/{general}/messages.count.relay?unread=true",
)


def queries_of(session: Session, destination: str) -> tuple[int, Any]:
    """How many queries the relay behind ``destination`` runs, and what it answers."""
    path, params = destinations.split_destination(destination)
    handler, match = destinations.find(destinations.RELAYS, path)
    with CaptureQueriesContext(connection) as queries:
        answer = handler(session, match, params)
    return len(queries), answer


def grow(application: Application, jane: ChatUser, general: Channel, count: int) -> None:
    """``count`` more users, each with a direct channel with jane and a message to her, and ``count`` messages in
    #general (some replies)."""
    for n in range(count):
        other = UserFactory.create(application=application)
        direct = ChannelFactory.create(application=application, channel_type="DIRECT", name=None, members=[jane, other])
        send(direct, f"psst {n}", user=other)
    for n in range(count):
        send(general, f"@{jane.name} news {n}")


@pytest.mark.django_db
def test_hot_relays_cost_the_same_queries_for_one_and_twenty_of_everything(application: Application) -> None:
    # given jane with one channel of each kind, one message in each
    jane = UserFactory.create(application=application, name="jane")
    general = ChannelFactory.create(application=application, name="general", members=[jane])
    grow(application, jane, general, 1)
    session = Session(application, jane, do_start_user_session(jane), "http://testserver")
    small = {destination: queries_of(session, destination.format(general=general.pk)) for destination in HOT}

    # when everything grows twentyfold
    grow(application, jane, general, 19)
    big = {destination: queries_of(session, destination.format(general=general.pk)) for destination in HOT}

    # then every relay runs as many queries as before, and answers about everything
    assert {d: q for d, (q, _) in big.items()} == {d: q for d, (q, _) in small.items()}
    assert len(big[HOT[0]][1]["_embedded"]["channels"]) == 21
    assert big["/application/user/unread_messages.count.relay"][1] == {"count": 40}
    assert len(big["/application/channels/{general}/messages.relay"][1]["_embedded"]["messages"]) == 20
