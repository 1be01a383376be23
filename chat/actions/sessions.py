"""Start and end the sessions of users connected over websockets (a user is online while any session is live), and
their chat sessions (a session listening live to one channel)."""

from django.db import transaction
from django.utils import timezone

from chat.actions.channels import channel_event
from chat.events import Event, send_event_on_commit
from chat.models import Channel, ChatSession, ChatUser, SessionState, UserSession

MAX_USER_AGENT_LENGTH = 512


def _presence_event(user: ChatUser) -> Event:
    return Event(
        type="user.presence.changed",
        application_id=user.application_id,
        resource_type="user",
        resource_id=user.pk,
        data={"online": user.online},
    )


def _session_event(name: str, session: UserSession) -> Event:
    return Event(
        type=f"user.session.{name}",
        application_id=session.application_id,
        resource_type="user_session",
        resource_id=session.pk,
        data={"user_id": session.user_id},
    )


def _chat_session_event(name: str, chat: ChatSession, user_id: int) -> Event:
    return Event(
        type=f"chat.session.{name}",
        application_id=chat.application_id,
        resource_type="chat_session",
        resource_id=chat.pk,
        channel_id=chat.channel_id,
        data={"user_id": user_id},
    )


def _set_online(user: ChatUser, *, online: bool) -> None:
    """Flip the user's presence, announcing it only when it changed (concurrent sessions race on the update)."""
    if ChatUser.objects.filter(pk=user.pk, online=not online).update(online=online, presence_time=timezone.now()):
        user.online = online
        send_event_on_commit(_presence_event(user))


@transaction.atomic
def do_start_user_session(user: ChatUser, *, user_agent: str = "") -> UserSession:
    """Record a live session of ``user``; the user comes online if they were not."""
    session = UserSession.objects.create(
        application_id=user.application_id, user=user, user_agent=user_agent[:MAX_USER_AGENT_LENGTH]
    )
    send_event_on_commit(_session_event("started", session))
    _set_online(user, online=True)
    return session


@transaction.atomic
def do_resume_user_session(session: UserSession) -> UserSession:
    """Make a dropped session live again (a client reconnecting with its session id); the user comes online."""
    if (
        UserSession.objects.filter(pk=session.pk)
        .exclude(state=SessionState.ACTIVE)
        .update(state=SessionState.ACTIVE, end_time=None)
    ):
        send_event_on_commit(_session_event("resumed", session))
    session.state, session.end_time = SessionState.ACTIVE, None
    user = session.user
    _set_online(user, online=True)
    return session


@transaction.atomic
def do_end_user_session(session: UserSession) -> None:
    """End a live session (and its chat sessions); the user goes offline when it was their last one."""
    now = timezone.now()
    if not UserSession.objects.filter(pk=session.pk, state=SessionState.ACTIVE).update(
        state=SessionState.ENDED, end_time=now
    ):
        return
    left = list(session.chat_sessions.filter(state=SessionState.ACTIVE).select_related("channel"))
    session.chat_sessions.filter(pk__in=[chat.pk for chat in left]).update(state=SessionState.ENDED, end_time=now)
    for chat in left:
        send_event_on_commit(_chat_session_event("ended", chat, session.user_id))
        send_event_on_commit(channel_event(chat.channel, "participant.inactive", user_id=session.user_id))
    send_event_on_commit(_session_event("ended", session))
    user = session.user
    still_live = UserSession.objects.filter(user=user, state=SessionState.ACTIVE).exists()
    if not still_live:
        _set_online(user, online=False)


@transaction.atomic
def do_start_chat_session(session: UserSession, channel: Channel) -> ChatSession:
    """Record that a live session entered a channel to chat; the channel's listeners hear it."""
    chat = ChatSession.objects.create(application_id=session.application_id, user_session=session, channel=channel)
    send_event_on_commit(_chat_session_event("started", chat, session.user_id))
    send_event_on_commit(channel_event(channel, "participant.active", user_id=session.user_id))
    return chat


@transaction.atomic
def do_end_chat_session(chat_session: ChatSession) -> None:
    """Record that a session left a channel's chat (its user session ending ends it too)."""
    if ChatSession.objects.filter(pk=chat_session.pk, state=SessionState.ACTIVE).update(
        state=SessionState.ENDED, end_time=timezone.now()
    ):
        user_id = chat_session.user_session.user_id
        send_event_on_commit(_chat_session_event("ended", chat_session, user_id))
        send_event_on_commit(channel_event(chat_session.channel, "participant.inactive", user_id=user_id))
