// Two unmodified @chatkitty/core browser-SDK clients (ws as their WebSocket) chat live through Parley
// (PARLEY_HOST, API_KEY); prints what was sent, received and listed as one JSON line.
import { createRequire } from "node:module";
import { TrackedWebSocket, subscribed } from "./core_common.mjs";
globalThis.WebSocket = TrackedWebSocket;
const { getSdkClient } = await import("@chatkitty/core");

const environment = { $environment: { host: process.env.PARLEY_HOST, secure: false } };
function fail(step, detail) { console.error(`FAILED ${step}: ${JSON.stringify(detail)}`); process.exit(1); }
const withTimeout = (promise, ms, step) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${step}`)), ms))]);

// getSdkClient caches one client per key: the CommonJS build of the same package is a second module instance
const jane = getSdkClient(process.env.API_KEY, environment);
const { getSdkClient: getSecond } = createRequire(import.meta.url)("@chatkitty/core");
const bob = getSecond(process.env.API_KEY, environment);

const started = await withTimeout(jane.startSession({ username: "jane" }), 10000, "jane session");
if (!started.succeeded) fail("jane session", started.error);
const bobStarted = await withTimeout(bob.startSession({ username: "bob" }), 10000, "bob session");
if (!bobStarted.succeeded) fail("bob session", bobStarted.error);

const listed = await withTimeout(jane.listChannels(), 10000, "list channels");
if (!listed.succeeded) fail("list channels", listed.error);
const channel = listed.paginator.items.find((c) => c.name === "general");
const bobChannel = (await bob.listChannels()).paginator.items.find((c) => c.name === "general");

const bobChannelBodies = [];
let threadMessageHeard;
const threadHeard = new Promise((resolve) => (threadMessageHeard = resolve));
let bobChat;
const received = new Promise((resolve) => {
  bobChat = bob.startChatSession({
    channel: bobChannel,
    onMessageReceived: (message) => { bobChannelBodies.push(message.body); resolve(message); },
    onThreadMessageReceived: (thread, message) => threadMessageHeard({ thread: thread.name, body: message.body }),
  });
});
const participants = [];
let bobLeft;
const bobLeftChat = new Promise((resolve) => (bobLeft = resolve));
const janeSession = jane.startChatSession({
  channel,
  onMessageReceived: () => {},
  onParticipantEnteredChat: (user) => participants.push(`${user.name} entered`),
  onParticipantLeftChat: (user) => { participants.push(`${user.name} left`); if (user.name === "bob") bobLeft(); },
});
if (!janeSession.succeeded) fail("chat session", janeSession.error);
await subscribed(`/topic/channels/${channel.id}/`, 22, "both chat sessions");
const sent = await withTimeout(jane.sendMessage({ channel, body: "hello from the SDK" }), 10000, "send");
if (!sent.succeeded) fail("send", sent.error);
const message = await withTimeout(received, 10000, "receive");
const history = await withTimeout(bob.listMessages({ channel: bobChannel }), 10000, "history");
if (!history.succeeded) fail("history", history.error);
const bodies = async (user, channel) => {
  const listed = await withTimeout(user.listMessages({ channel }), 10000, "list messages");
  if (!listed.succeeded) fail("list messages", listed.error);
  return listed.paginator.items.map((m) => m.body);
};
const names = async (user) => (await user.listChannels()).paginator.items.map((c) => c.displayName || c.name).sort();

// bob clears his history of #general: gone for him, not for jane
const cleared = await withTimeout(bob.clearChannelHistory({ channel: bobChannel }), 10000, "clear history");
if (!cleared.succeeded) fail("clear history", cleared.error);
const afterClear = { bob: await bodies(bob, bobChannel), jane: await bodies(jane, channel) };

// jane and bob talk directly; bob hides that channel, and jane's next message brings it back
const direct = await withTimeout(jane.createChannel({ type: "DIRECT", members: [{ username: "bob" }] }), 10000, "dm");
if (!direct.succeeded) fail("create direct channel", direct.error);
await withTimeout(jane.sendMessage({ channel: direct.channel, body: "psst" }), 10000, "send direct");
const bobDirect = (await bob.listChannels()).paginator.items.find((c) => c.type === "DIRECT");
const hidden = await withTimeout(bob.hideChannel({ channel: bobDirect }), 10000, "hide");
if (!hidden.succeeded) fail("hide", hidden.error);
const whileHidden = await names(bob);
const unhidden = new Promise((resolve) => bob.onChannelUnhidden((c) => resolve(c)));
await withTimeout(jane.sendMessage({ channel: direct.channel, body: "still there?" }), 10000, "send again");
const back = await withTimeout(unhidden, 10000, "unhidden");
// a named thread in #general: bob follows it; its messages stay out of the channel's own chat and history
const createdThread = await withTimeout(jane.createThread({ channel, name: "planning" }), 10000, "create thread");
if (!createdThread.succeeded) fail("create thread", createdThread.error);
const threads = await withTimeout(bob.listThreads({ channel: bobChannel, filter: { standalone: true } }), 10000, "threads");
if (!threads.succeeded) fail("list threads", threads.error);
bobChat.session.setThread(threads.paginator.items[0]);
const inThread = await withTimeout(
  jane.sendMessage({ thread: createdThread.thread, body: "in the planning thread" }), 10000, "thread message");
if (!inThread.succeeded) fail("thread message", inThread.error);
const heardInThread = await withTimeout(threadHeard, 10000, "bob hears the thread");
const threadOf = await withTimeout(bob.listThreadChannel({ thread: threads.paginator.items[0] }), 10000, "thread channel");
const read = await withTimeout(bob.readThread({ thread: threads.paginator.items[0] }), 10000, "read thread");
// uploads through _streams with the write grant: a file message bob receives live and downloads with his read
// grant, and jane's display picture
const fileHeard = new Promise((resolve) => {
  bob.startChatSession({ channel: bobChannel, onMessageReceived: (m) => m.type === "FILE" && resolve(m) });
});
await subscribed(`/topic/channels/${channel.id}/`, 33, "bob's second chat session");
const fileSent = await withTimeout(jane.sendMessage({
  channel, file: { uri: `data:text/plain;base64,${Buffer.from("hello file").toString("base64")}`, name: "notes.txt" },
  properties: { kind: "notes" },
}), 10000, "send file");
if (!fileSent.succeeded) fail("send file", fileSent.error);
const fileMessage = await withTimeout(fileHeard, 10000, "bob hears the file");
const download = await fetch(fileMessage.file.url);
const withoutGrant = await fetch(fileMessage.file.url.split("?")[0]);
const picture = await withTimeout(jane.updateCurrentUserDisplayPicture({
  file: { uri: "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==", name: "me.png" },
}), 10000, "display picture");
if (!picture.succeeded) fail("display picture", picture.error);

bobChat.session.end();
await withTimeout(bobLeftChat, 10000, "jane sees bob leave the chat");
console.log(JSON.stringify({
  participants,
  upload: {
    sent: { type: fileSent.message.type, name: fileSent.message.file.name, size: fileSent.message.file.size },
    properties: fileSent.message.properties,
    received: { type: fileMessage.type, fileType: fileMessage.file.type, contentType: fileMessage.file.contentType },
    download: { status: download.status, body: await download.text() },
    withoutGrant: withoutGrant.status,
    picture: { url: picture.user.displayPictureUrl.replace(/^.*\//, ""), status: (await fetch(picture.user.displayPictureUrl)).status },
  },
  thread: {
    listed: threads.paginator.items.map((t) => [t.type, t.name]),
    heard: heardInThread,
    channel: threadOf.channel?.name,
    read: read.succeeded,
    bobChannelChat: bobChannelBodies,
    janeHistory: await bodies(jane, channel),
  },
  sent: sent.message.body,
  received: message.body,
  from: message.user.name,
  history: history.paginator.items.map((m) => m.body),
  afterClear,
  hiddenType: hidden.channel.type,
  whileHidden,
  unhidden: back.type,
  afterUnhide: (await names(bob)).length,
}));
jane.endSession();
bob.endSession();
process.exit(0);
