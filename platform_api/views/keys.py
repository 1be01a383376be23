"""Room API keys (a Platform API extension): ``/v1/channels/{id}/api-keys`` to create and list a channel's keys,
``/v1/channels/{id}/api-keys/{key_id}`` to read and revoke one; and the room messaging API a key posts with
(``POST /api/messaging/messages``, the Spika-style contract of ``room-messaging-api.txt``)."""

from typing import Any

import orjson
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions.keys import check_create_room_key, check_post_with_room_key, do_revoke_room_key
from chat.bounds import check_depth
from chat.errors import ChatError, Invalid, NotFound
from chat.models import RoomKey
from chat.selectors.channels import channel_room_keys, room_key_by_secret
from chat.selectors.messages import message_reach
from chat.wire.channels import CreatedRoomKeyResourceSerializer, RoomKeyResourceSerializer
from platform_api.hal import hal_page
from platform_api.inputs import InputSerializer, UserReferenceField
from platform_api.schema import PAGE_PARAMETERS, PARLEY_TAGS, paged
from platform_api.views.channels import ChannelScoped

KEY_SORT = {"id": "id", "createdTime": "created_time"}


class RoomKeyInput(InputSerializer):
    """A new key: the name its messages are sent under, and the channel moderator making it (optional)."""

    display_name = serializers.CharField(max_length=256)
    created_by = UserReferenceField(required=False)


class RoomKeysView(ChannelScoped):
    """``/v1/channels/{id}/api-keys``."""

    @extend_schema(
        operation_id="listChannelApiKeys",
        tags=PARLEY_TAGS,
        parameters=PAGE_PARAMETERS,
        responses=paged("RoomKeyResource", "keys", RoomKeyResourceSerializer),
    )
    def get(self, request: Request, channel_id: int) -> Response:
        """The channel's keys, revoked ones included (never their secrets)."""
        keys = channel_room_keys(channel=self.channel(channel_id))
        return self.ok(hal_page(request, keys, "keys", self.renderer.many("room_key"), KEY_SORT))

    @extend_schema(
        operation_id="createChannelApiKey",
        tags=PARLEY_TAGS,
        request=RoomKeyInput,
        responses=CreatedRoomKeyResourceSerializer,
    )
    def post(self, request: Request, channel_id: int) -> Response:
        """Create a key; the answer is the only place its secret (``key``) appears."""
        data = self.validated(RoomKeyInput)
        creator = self.user_ref(data["created_by"], "createdBy") if "created_by" in data else None
        room_key, key = check_create_room_key(
            self.channel(channel_id), display_name=data["display_name"], created_by=creator
        )
        return self.ok({**self.renderer.render("room_key", room_key), "key": key})


class RoomKeyView(ChannelScoped):
    """``/v1/channels/{id}/api-keys/{key_id}``."""

    def room_key(self, channel_id: int, key_id: int) -> RoomKey:
        """A key of this channel."""
        found = channel_room_keys(channel=self.channel(channel_id)).filter(pk=key_id).first()
        if found is None:
            raise NotFound(f"Channel {channel_id} has no API key {key_id}.")
        return found

    @extend_schema(operation_id="retrieveChannelApiKey", tags=PARLEY_TAGS, responses=RoomKeyResourceSerializer)
    def get(self, request: Request, channel_id: int, key_id: int) -> Response:
        """One key: when it was made, last used, revoked."""
        return self.ok(self.renderer.render("room_key", self.room_key(channel_id, key_id)))

    @extend_schema(operation_id="revokeChannelApiKey", tags=PARLEY_TAGS, responses={200: RoomKeyResourceSerializer})
    def delete(self, request: Request, channel_id: int, key_id: int) -> Response:
        """Revoke a key: it stops working at once."""
        return self.ok(self.renderer.render("room_key", do_revoke_room_key(self.room_key(channel_id, key_id))))


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"status": "error", "message": message}, status=status)


def _text_of(body: dict[str, Any]) -> Any:
    if body.get("type") != "text":
        raise ValueError('type must be "text" (the only type supported).')
    content = body.get("body")
    if isinstance(content, str):  # a JSON string, as the contract describes it
        try:
            content = orjson.loads(content)
        except orjson.JSONDecodeError as error:
            raise ValueError('body must be {"text": "..."} (an object or its JSON).') from error
    if not isinstance(content, dict) or not isinstance(content.get("text"), str):
        raise ValueError('body must be {"text": "..."} (an object or its JSON).')
    return content["text"]


@csrf_exempt
@require_POST
def post_room_message(request: HttpRequest) -> JsonResponse:
    """``POST /api/messaging/messages``: a script holding a room key posts into that room (channel)."""
    key = request.headers.get("accesstoken", "")
    room_key = room_key_by_secret(key) if key else None
    if room_key is None:
        return _error(401, "A valid API key is required (header accesstoken).")
    if room_key.revoked_time is not None:
        return _error(403, "This API key has been revoked.")
    try:
        body = check_depth(orjson.loads(request.body or b"null"), "")
    except orjson.JSONDecodeError:
        return _error(400, "The body must be JSON.")
    except Invalid as error:
        return _error(400, error.message)
    if not isinstance(body, dict):
        return _error(400, "The body must be a JSON object.")
    room_id = body.get("roomId")
    if isinstance(room_id, bool) or not isinstance(room_id, int):
        return _error(400, "roomId must be the number of the room.")
    if room_id != room_key.channel_id:
        return _error(403, "This API key posts into another room.")
    try:
        text = _text_of(body)
        message = check_post_with_room_key(room_key, text=text)
    except ValueError as error:
        return _error(400, str(error))
    except ChatError as error:
        return _error(400, error.message)
    total, delivered, seen = message_reach(message)
    created = int(message.created_time.timestamp() * 1000)
    local_id = body.get("localId", message.pk)
    return JsonResponse(
        {
            "status": "success",
            "data": {
                "message": {
                    "id": message.pk,
                    "roomId": message.channel_id,
                    "fromUserId": message.user_id,
                    "totalUserCount": total,
                    "deliveredCount": delivered,
                    "seenCount": seen,
                    "type": "text",
                    "body": {"text": message.body},
                    "modifiedAt": created,
                    "createdAt": created,
                    "localId": local_id,
                    "deleted": False,
                }
            },
        }
    )
