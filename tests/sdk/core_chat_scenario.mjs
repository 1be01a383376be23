// Two unmodified @chatkitty/core browser-SDK clients (ws as their WebSocket) chat live through Parley
// (PARLEY_HOST, API_KEY); prints what was sent, received and listed as one JSON line.
import { createRequire } from "node:module";
import WebSocket from "ws";
globalThis.WebSocket = WebSocket;
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

const received = new Promise((resolve) => {
  bob.startChatSession({ channel: bobChannel, onMessageReceived: (message) => resolve(message) });
});
const janeSession = jane.startChatSession({ channel, onMessageReceived: () => {} });
if (!janeSession.succeeded) fail("chat session", janeSession.error);
await new Promise((r) => setTimeout(r, 500));
const sent = await withTimeout(jane.sendMessage({ channel, body: "hello from the SDK" }), 10000, "send");
if (!sent.succeeded) fail("send", sent.error);
const message = await withTimeout(received, 10000, "receive");
const history = await withTimeout(bob.listMessages({ channel: bobChannel }), 10000, "history");
if (!history.succeeded) fail("history", history.error);
console.log(JSON.stringify({
  sent: sent.message.body,
  received: message.body,
  from: message.user.name,
  history: history.paginator.items.map((m) => m.body),
}));
jane.endSession();
bob.endSession();
process.exit(0);
