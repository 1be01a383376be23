// Two unmodified @chatkitty/core clients (ws as their WebSocket) live through a server restart (PARLEY_HOST,
// API_KEY). Protocol with the test: this script prints {"phase":"ready"} once both chat; the test stops the server
// and writes "down" on stdin; jane then sends while disconnected, the test sends a message of its own and starts the
// server again; both clients reconnect by themselves. Prints what bob received and how many sockets were opened.
import readline from "node:readline";
import { TrackedWebSocket, client, fail, ok, subscribed, within } from "./core_common.mjs";

globalThis.WebSocket = TrackedWebSocket;
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const jane = await client(0);
const bob = await client(1);
await ok(jane.startSession({ username: "jane" }), "jane session");
await ok(bob.startSession({ username: "bob" }), "bob session");
const general = async (user) => (await ok(user.listChannels(), "list")).paginator.items.find((c) => c.name === "general");
const [janeChannel, bobChannel] = [await general(jane), await general(bob)];

const received = [];
const waits = [];
const heard = (body, step) => within(new Promise((resolve) => waits.push({ body, resolve })), step, 45000);
bob.startChatSession({
  channel: bobChannel,
  onMessageReceived: (message) => {
    received.push(message.body);
    for (const w of waits.filter((w) => w.body === message.body)) w.resolve();
  },
});
jane.startChatSession({ channel: janeChannel, onMessageReceived: () => {} });
await subscribed(`/topic/channels/${janeChannel.id}/`, 22, "both chat sessions");

const before = heard("before the restart", "bob hears the first message");
await ok(jane.sendMessage({ channel: janeChannel, body: "before the restart" }), "send before");
await before;
console.log(JSON.stringify({ phase: "ready" }));

if ((await lines.next()).value !== "down") fail("wait for the server to stop", "no 'down' line");
const whileAway = heard("sent while bob was away", "bob is sent what he missed");
const queued = heard("queued while down", "bob hears jane's queued message");
const queuedSend = ok(jane.sendMessage({ channel: janeChannel, body: "queued while down" }), "queued send", 45000);
await Promise.all([whileAway, queued, queuedSend]);

const after = heard("after the restart", "bob hears live again");
await ok(jane.sendMessage({ channel: janeChannel, body: "after the restart" }), "send after");
await after;
// a last message: whatever came twice before it (a replay, the live copy) has arrived when bob hears it
const last = heard("the end", "bob hears the last message");
await ok(jane.sendMessage({ channel: janeChannel, body: "the end" }), "send the last");
await last;
console.log(JSON.stringify({ received: received.filter((body) => body !== "the end"), sockets: TrackedWebSocket.opened }));
jane.endSession();
bob.endSession();
process.exit(0);
