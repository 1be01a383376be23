// The events that once reached nobody, heard by unmodified @chatkitty/core clients (ws as their WebSocket) through
// Parley (PARLEY_HOST, API_KEY; CLIENT_ID/CLIENT_SECRET for the Platform API): a user who joins a public channel by
// sending into it, a moderator added who was not a member, a reported message, a member muting and clearing the
// channel (heard by their other session), and the backend deleting every message.
// Prints what was heard as one JSON line.
import { TrackedWebSocket, client, fail, host, ok, subscribed, waiter } from "./core_common.mjs";

globalThis.WebSocket = TrackedWebSocket;


const [jane, bob, bobElsewhere, carol] = await Promise.all([0, 1, 2, 3].map(client));
for (const [user, name] of [[jane, "jane"], [bob, "bob"], [bobElsewhere, "bob"], [carol, "carol"]]) {
  await ok(user.startSession({ username: name }), `${name} session`);
}
const lobbyOf = async (user, filter) =>
  (await ok(user.listChannels(filter), "list channels")).paginator.items.find((c) => c.name === "lobby");
const lobby = await lobbyOf(jane);

const joined = waiter();
const moderators = waiter();
const updated = waiter();
const channelUpdated = waiter();
const session = jane.startChatSession({
  channel: lobby,
  onMessageReceived: () => {},
  onMemberJoined: (user) => joined.on(user),
  onModeratorAdded: (user) => moderators.on(user),
  onMessageUpdated: (message) => updated.on(message),
  onChannelUpdated: (channel) => channelUpdated.on(channel),
});
if (!session.succeeded) fail("jane's chat session", session.error);
const bobsOtherSession = waiter();
bobElsewhere.onChannelUpdated((channel) => bobsOtherSession.on(channel));
await subscribed(`/topic/channels/${lobby.id}/`, 11, "jane's chat session");

const outcome = {};
const sent = await ok(jane.sendMessage({ channel: lobby, body: "welcome" }), "jane sends");

// carol is no member: sending into the public channel joins her, and jane's member list hears it
const carolJoins = joined.next((user) => user.name === "carol", "jane hears carol join");
await ok(carol.sendMessage({ channel: await lobbyOf(carol, { filter: { joined: false } }), body: "hi" }), "carol sends");
outcome.joinedBySending = (await carolJoins)[0].name;

// the backend makes dave, no member yet, a moderator: he joins, then moderates
const basic = Buffer.from(`${process.env.CLIENT_ID}:${process.env.CLIENT_SECRET}`).toString("base64");
const token = await (await fetch(`http://${host}/oauth/token`, {
  method: "POST", headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
  body: "grant_type=client_credentials",
})).json();
const api = async (method, path, body) => {
  const response = await fetch(`http://${host}${path}`, {
    method,
    headers: { authorization: `Bearer ${token.access_token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status !== 200) fail(`${method} ${path}`, await response.text());
};
const daveJoins = joined.next((user) => user.name === "dave", "jane hears dave join");
const daveModerates = moderators.next((user) => user.name === "dave", "jane hears dave moderate");
await api("POST", `/v1/channels/${lobby.id}/moderators`, { username: "dave" });
outcome.moderator = [(await daveJoins)[0].name, (await daveModerates)[0].name];

// bob reports jane's message: her chat hears the message change
const reported = updated.next((message) => message.id === sent.message.id, "jane hears the report");
await ok(bob.reportMessage({ message: sent.message, reason: "too cheerful" }), "bob reports");
outcome.reportCount = (await reported)[0].reportCount;

// bob mutes the channel, then clears his history: his other session hears both
const bobsLobby = await lobbyOf(bob);
const muted = bobsOtherSession.next((channel) => channel.id === lobby.id, "bob's other session hears the mute");
await ok(bob.muteChannel({ channel: bobsLobby }), "bob mutes");
await muted;
const cleared = bobsOtherSession.next((channel) => channel.id === lobby.id, "bob's other session hears the clear");
await ok(bob.clearChannelHistory({ channel: bobsLobby }), "bob clears his history");
await cleared;
outcome.bobsOtherSession = ["muted", "cleared"];

// the backend deletes every message: jane's chat and bob's channel list hear the channel change
const emptied = channelUpdated.next((channel) => channel.id === lobby.id && !channel.lastReceivedMessage, "jane's chat");
const emptiedForBob = bobsOtherSession.next((channel) => channel.id === lobby.id && !channel.lastReceivedMessage, "bob");
await api("DELETE", "/v1/messages");
await emptied;
await emptiedForBob;
outcome.afterDeletingAll = (await ok(jane.listMessages({ channel: lobby }), "jane's history")).paginator.items.length;

for (const user of [jane, bob, bobElsewhere, carol]) user.endSession();
console.log(JSON.stringify(outcome));
process.exit(0);
