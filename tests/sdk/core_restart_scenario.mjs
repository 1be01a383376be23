// Two unmodified @chatkitty/core clients (ws as their WebSocket) live through a server restart (PARLEY_HOST,
// API_KEY). Protocol with the test: this script prints {"phase":"ready"} once both chat; the test stops the server
// and writes "down" on stdin; jane then sends while disconnected, the test sends a message of its own and starts the
// server again; both clients reconnect by themselves. Prints what bob received and how many sockets were opened.
import readline from "node:readline";
import WebSocket from "ws";

import { client, fail, ok, within } from "./core_common.mjs";

let sockets = 0;
globalThis.WebSocket = class extends WebSocket {
  constructor(...args) { super(...args); sockets += 1; }
};
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
await new Promise((resolve) => setTimeout(resolve, 500));

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
await new Promise((resolve) => setTimeout(resolve, 500)); // anything sent twice would have arrived by now
console.log(JSON.stringify({ received, sockets }));
jane.endSession();
bob.endSession();
process.exit(0);
