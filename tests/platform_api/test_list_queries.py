"""The Platform API's list pages cost a fixed number of queries, whether a page holds one item or twenty."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import Application, Channel
from functions.actions import check_create_function, check_create_function_version
from functions.models import FunctionType
from tests.conftest import Api
from tests.factories import ChannelFactory, UserFactory, import_job, send

PAGES = {
    "users": ("/v1/users", "users"),
    "channel messages": ("/v1/channels/{general}/messages", "messages"),
    "messages": ("/v1/messages", "messages"),
    "jobs": ("/v1/jobs", "jobs"),
    "functions": ("/v1/runtimes/nodejs/functions", "functions"),
}


def add(application: Application, general: Channel, index: int) -> None:
    """One more of everything the pages list: a user who posts, a job, a function of the next type."""
    user = UserFactory.create(application=application)
    send(general, f"hello {index}", user=user)  # a public channel: sending joins
    import_job(application, "USER_IMPORT", [{"name": f"imported{index}"}])
    function = check_create_function(application, function_type=list(FunctionType)[index], name=f"f{index}")
    check_create_function_version(function, handler_script="function handleEvent() { return 1; }")


def costs(api: Api, general: Channel) -> dict[str, tuple[int, int]]:
    """Queries and items of each page."""
    found = {}
    for name, (path, key) in PAGES.items():
        with CaptureQueriesContext(connection) as queries:
            page = api.get(path.format(general=general.pk), {"size": 50}).json()
        found[name] = (len(queries), len(page["_embedded"][key]))
    return found


@pytest.mark.django_db
def test_list_pages_cost_the_same_queries_for_one_and_twenty_items(api: Api, application: Application) -> None:
    # given one of everything, and a token already known (its lookup is not the pages' cost)
    api.get("/v1/application")
    general = ChannelFactory.create(application=application, name="general")
    add(application, general, 0)
    one = costs(api, general)

    # when there are twenty
    for index in range(1, 20):
        add(application, general, index)
    twenty = costs(api, general)

    # then
    assert {name: queries for name, (queries, _) in twenty.items()} == {name: q for name, (q, _) in one.items()}
    assert {name: items for name, (_, items) in twenty.items()} == dict.fromkeys(PAGES, 20)
