"""File access grants: the SDK asks for a write and a read grant when a session starts, sends the write grant with
every upload (``Grant`` header) and appends the read grant to every file URL. Each is signed with the server's
secret key: a write grant names the user session (valid while it is live or resumable), a read grant the
application whose files it opens."""

from typing import Any

from django.core import signing
from django.db.models import Q
from django.utils import timezone

from chat.errors import Forbidden
from chat.models import SessionState, UserSession
from chat.realtime.auth import RESUME_WINDOW

WRITE_SALT = "parley.grants.write"
READ_SALT = "parley.grants.read"


def write_grant(session: UserSession) -> str:
    """The grant a session uploads with."""
    return signing.dumps({"s": session.pk}, salt=WRITE_SALT, compress=True)


def read_grant(session: UserSession) -> str:
    """The grant a session downloads its application's files with."""
    return signing.dumps({"a": session.application_id}, salt=READ_SALT, compress=True)


def _loads(grant: str, salt: str) -> dict[str, Any]:
    try:
        value = signing.loads(grant, salt=salt)
    except signing.BadSignature as error:
        raise Forbidden("The file access grant is not valid.") from error
    if not isinstance(value, dict):
        raise Forbidden("The file access grant is not valid.")
    return value


def session_of_write_grant(grant: str) -> UserSession:
    """The live (or resumable) user session an upload's grant names, or refuse."""
    session_id = _loads(grant, WRITE_SALT).get("s")
    if not isinstance(session_id, int):
        raise Forbidden("The file access grant is not valid.")
    recent = Q(state=SessionState.ACTIVE) | Q(end_time__gte=timezone.now() - RESUME_WINDOW)
    session = UserSession.objects.filter(recent, pk=session_id).select_related("user", "application").first()
    if session is None or session.user.deleted_time is not None:
        raise Forbidden("The session of this file access grant has ended.")
    return session


def application_of_read_grant(grant: str) -> int:
    """The application whose files a read grant opens, or refuse."""
    application_id = _loads(grant, READ_SALT).get("a")
    if not isinstance(application_id, int):
        raise Forbidden("The file access grant is not valid.")
    return application_id
