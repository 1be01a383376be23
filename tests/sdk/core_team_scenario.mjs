// Five unmodified @chatkitty/core clients (ws as their WebSocket) in one channel through Parley (PARLEY_HOST,
// API_KEY; CLIENT_ID/CLIENT_SECRET for one Platform API call): create a channel, typing, live messages both ways,
// read receipts, unread counts, reactions, thread replies, a Platform API message arriving live, channel and user
// blocks, a refused login.
// Prints what each client observed as one JSON line.
import { TrackedWebSocket, client, fail, host, ok, sleep, subscribed, waiter, within } from "./core_common.mjs";

globalThis.WebSocket = TrackedWebSocket;

const names = ["jane", "bob", "carol", "dave", "erin"];
const users = {};
for (const [n, name] of names.entries()) {
  users[name] = await client(n);
  await ok(users[name].startSession({ username: name }), `${name} session`);
}
const { jane, bob, carol, dave, erin } = users;

// jane creates a channel with the four others; bob hears he joined it
const joined = waiter();
bob.onChannelJoined((channel) => joined.on(channel));
const bobJoined = joined.next((channel) => channel.name === "team", "bob joins");
const created = await ok(jane.createChannel({
  type: "PUBLIC", name: "team", displayName: "The team", members: names.slice(1).map((username) => ({ username })),
}), "create channel");
await bobJoined;

const channels = {};
const events = {};
for (const name of names) {
  const listed = await ok(users[name].listChannels(), `${name} lists channels`);
  channels[name] = listed.paginator.items.find((c) => c.name === "team");
  if (!channels[name]) fail(`${name} lists channels`, listed.paginator.items.map((c) => c.name));
  const w = (events[name] = {
    messages: waiter(), typing: waiter(), reads: waiter(), reactions: waiter(), received: [],
  });
  const session = users[name].startChatSession({
    channel: channels[name],
    onMessageReceived: (message, parent) => { w.received.push(message.body); w.messages.on(message, parent); },
    onTypingStarted: (user) => w.typing.on("started", user),
    onTypingStopped: (user) => w.typing.on("stopped", user),
    onMessageRead: (message, receipt) => w.reads.on(message, receipt),
    onMessageReactionAdded: (message, reaction) => w.reactions.on(message, reaction),
  });
  if (!session.succeeded) fail(`${name} chat session`, session.error);
}
const team = channels.jane;
await subscribed(`/topic/channels/${team.id}/`, 11 * names.length, "every chat session");

// typing: bob sees jane start typing, and stop when she sends (in the chat, and through his global listeners)
const globalTyping = waiter();
bob.onParticipantStartedTyping((user) => globalTyping.on("started", user));
bob.onParticipantStoppedTyping((user) => globalTyping.on("stopped", user));
const globallyStarted = globalTyping.next((kind, user) => kind === "started" && user.name === "jane", "global typing");
const globallyStopped = globalTyping.next((kind, user) => kind === "stopped" && user.name === "jane", "global stop");
const started = events.bob.typing.next((kind, user) => kind === "started" && user.name === "jane", "typing started");
const stopped = events.bob.typing.next((kind, user) => kind === "stopped" && user.name === "jane", "typing stopped");
await jane.sendKeystrokes({ channel: team, keys: "hi te" });
await started;
await globallyStarted;

// live both ways: jane's message reaches all four; bob's answer reaches jane
const heard = names.slice(1).map((name) => events[name].messages.next((m) => m.body === "hi team", `${name} hears jane`));
const sent = await ok(jane.sendMessage({ channel: team, body: "hi team" }), "jane sends");
await Promise.all(heard);
await stopped;
await globallyStopped;
const janeHears = events.jane.messages.next((m) => m.body === "hi jane", "jane hears bob");
await ok(bob.sendMessage({ channel: channels.bob, body: "hi jane" }), "bob sends");
await janeHears;

// unread counts, then a read receipt that bob sees
const unreadBefore = (await ok(carol.countUnreadMessages({ channel: channels.carol }), "carol unread")).count;
const unreadChannels = (await ok(carol.countUnreadChannels(), "carol unread channels")).count;
const bobSeesRead = events.bob.reads.next((message, receipt) => receipt.user.name === "carol", "bob sees carol read");
await ok(carol.readChannel({ channel: channels.carol }), "carol reads");
const [readMessage] = await bobSeesRead;
const unreadAfter = (await ok(carol.countUnreadMessages({ channel: channels.carol }), "carol unread after")).count;
const context = (await ok(jane.retrieveChannelContext({ channel: team }), "channel context")).context;
const carolId = (await ok(carol.retrieveCurrentUser(), "carol's user")).user.id;

// a reaction that jane sees on her message
const janeSeesReaction = events.jane.reactions.next((message, reaction) => message.id === sent.message.id, "reaction");
await ok(dave.reactToMessage({ message: sent.message, emoji: "👍" }), "dave reacts");
const [reacted, reaction] = await janeSeesReaction;
const reactions = await ok(jane.listReactions({ message: sent.message }), "list reactions");

// a thread reply: everyone gets it with its parent
const janeSeesReply = events.jane.messages.next((m) => m.body === "in a thread", "jane hears the reply");
await ok(erin.sendMessage({ message: sent.message, body: "in a thread" }), "erin replies");
const [reply, parent] = await janeSeesReply;
const replies = await ok(jane.listMessages({ message: sent.message }), "list replies");

// a message sent through the Platform API arrives live
const basic = Buffer.from(`${process.env.CLIENT_ID}:${process.env.CLIENT_SECRET}`).toString("base64");
const tokenResponse = await fetch(`http://${host}/oauth/token`, {
  method: "POST", headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
  body: "grant_type=client_credentials",
});
const { access_token: token } = await tokenResponse.json();
const allHearSystem = names.map((name) => events[name].messages.next((m) => m.body === "from the backend", `${name} hears the backend`));
const posted = await fetch(`http://${host}/v1/channels/${team.id}/messages`, {
  method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  body: JSON.stringify({ type: "TEXT", body: "from the backend" }),
});
if (posted.status !== 200) fail("platform send", await posted.text());
const [[system]] = await Promise.all(allHearSystem);

// channel blocks: jane (the creator) blocks erin, who leaves and cannot rejoin until unblocked
const erinLeft = new Promise((resolve) => erin.onChannelLeft((channel) => resolve(channel)));
const blocked = await ok(jane.blockChannelUser({ channel: team, user: { username: "erin" } }), "jane blocks erin");
await within(erinLeft, "erin leaves the channel");
const records = await ok(jane.listChannelBlockRecords({ channel: team }), "block records");
const rejoin = await within(erin.joinChannel({ channel: channels.erin }), "erin rejoins while blocked");
await ok(jane.unblockChannelUser({ record: blocked.record }), "jane unblocks erin");
await ok(erin.joinChannel({ channel: channels.erin }), "erin rejoins");

// user blocks: bob blocks carol, who cannot message him directly until he unblocks her
const contacts = await ok(bob.listUsers({ filter: { name: "carol" } }), "bob finds carol");
const carolUser = contacts.paginator.items.find((u) => u.name === "carol");
await ok(bob.blockUser({ user: carolUser }), "bob blocks carol");
const blockList = await ok(bob.listUserBlockedRecords(), "bob's block list");
const dm = await ok(carol.createChannel({ type: "DIRECT", members: [{ username: "bob" }] }), "carol opens a DM");
const dmWhileBlocked = await within(carol.sendMessage({ channel: dm.channel, body: "hey bob" }), "carol writes");
await ok(bob.deleteUserBlockedRecord({ item: blockList.paginator.items[0] }), "bob unblocks carol");
const dmAfter = await ok(carol.sendMessage({ channel: dm.channel, body: "hey bob" }), "carol writes again");

// the backend turns channel creation off: jane's client hears the new feature options
const featuresChanged = within(new Promise((resolve) => jane.onApplicationFeaturesChanged(resolve)), "features");
const settings = await fetch(`http://${host}/v1/application/settings`, {
  method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  body: JSON.stringify({ userCreatedChannels: "DISABLED" }),
});
if (settings.status !== 200) fail("settings", await settings.text());
const features = await featuresChanged;

for (const name of names) users[name].endSession();

// a refused login fails once and does not retry
const before = TrackedWebSocket.opened;
const stranger = await client(9);
const refused = await within(stranger.startSession({ username: "nobody-here" }), "refused login");
await sleep(6000); // not a wait for something: the time in which a retry would have come
stranger.endSession();

console.log(JSON.stringify({
  created: { type: created.channel.type, displayName: created.channel.displayName },
  bobJoined: true,
  unread: { before: unreadBefore, channels: unreadChannels, after: unreadAfter },
  readMessage: readMessage.body,
  reaction: { emoji: reaction.emoji.character, by: reaction.user.name, on: reacted.body },
  listedReactions: reactions.paginator.items.map((r) => [r.emoji.character, r.count]),
  reply: { body: reply.body, parent: parent?.body, nestedLevel: reply.nestedLevel },
  replies: replies.paginator.items.map((m) => m.body),
  system: { body: system.body, type: system.type },
  readBy: context.readBy[String(sent.message.id)]?.includes(carolId),
  features,
  blocks: {
    channelBlocked: blocked.record.user.name,
    records: records.paginator.items.map((record) => record.user.name),
    rejoinWhileBlocked: rejoin.succeeded ? "joined" : rejoin.error?.error,
    userBlocked: blockList.paginator.items.map((item) => item.user.name),
    dmWhileBlocked: dmWhileBlocked.succeeded ? "sent" : dmWhileBlocked.error?.error,
    dmAfter: dmAfter.message.body,
  },
  received: Object.fromEntries(names.map((name) => [name, events[name].received])),
  refused: { succeeded: refused.succeeded, error: refused.error?.error ?? refused.error?.type ?? String(refused.error), sockets: TrackedWebSocket.opened - before },
}));
process.exit(0);
