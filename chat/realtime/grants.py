"""File access grants: the SDK asks for a write and a read grant when a session starts, sends the write grant with
every upload (``Grant`` header) and appends the read grant to every file URL. Each is signed with the grants' own
key (``PARLEY_GRANTS_KEY``) and names the user session: valid while that session is live or resumable and its user
exists, and a read grant for ``PARLEY_FILE_GRANT_SECONDS`` at most; a read grant opens its application's files."""

from typing import Any

from django.conf import settings
from django.core import signing

from chat.errors import Forbidden
from chat.models import UserSession
from chat.selectors.applications import resumable_sessions

WRITE_SALT = "parley.grants.write"
READ_SALT = "parley.grants.read"


def write_grant(session: UserSession) -> str:
    """The grant a session uploads with."""
    return signing.dumps({"s": session.pk}, key=settings.PARLEY_GRANTS_KEY, salt=WRITE_SALT, compress=True)


def read_grant(session: UserSession) -> str:
    """The grant a session downloads its application's files with."""
    return signing.dumps({"s": session.pk}, key=settings.PARLEY_GRANTS_KEY, salt=READ_SALT, compress=True)


def _loads(grant: str, salt: str, max_age: int | None = None) -> dict[str, Any]:
    try:
        value = signing.loads(grant, key=settings.PARLEY_GRANTS_KEY, salt=salt, max_age=max_age)
    except signing.SignatureExpired as error:
        raise Forbidden("The file access grant has expired: start a new session.") from error
    except signing.BadSignature as error:
        raise Forbidden("The file access grant is not valid.") from error
    if not isinstance(value, dict):
        raise Forbidden("The file access grant is not valid.")
    return value


def session_of_write_grant(grant: str) -> UserSession:
    """The live (or resumable) user session an upload's grant names, or refuse."""
    return _live_session(_loads(grant, WRITE_SALT).get("s"))


def _live_session(session_id: Any) -> UserSession:
    if not isinstance(session_id, int):
        raise Forbidden("The file access grant is not valid.")
    session = resumable_sessions().filter(pk=session_id).first()
    if session is None or session.user.deleted_time is not None:
        raise Forbidden("The session of this file access grant has ended.")
    return session


def application_of_read_grant(grant: str) -> int:
    """The application whose files a read grant opens (its session live or resumable, its user existing, the grant
    younger than ``PARLEY_FILE_GRANT_SECONDS``), or refuse."""
    return _live_session(_loads(grant, READ_SALT, settings.PARLEY_FILE_GRANT_SECONDS).get("s")).application_id
