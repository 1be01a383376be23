// Two unmodified @chatkitty/core clients on two Parley hosts that share only PostgreSQL, Redis and object storage:
// jane on PARLEY_HOST, bob on PARLEY_HOST_B. They chat live both ways; jane uploads a file message through her host
// and bob downloads it through his. Prints what each heard, where each socket went, and the download, as one line.
import { TrackedWebSocket, client, clientAt, ok, subscribed, within } from "./core_common.mjs";

const socketHosts = { jane: new Set(), bob: new Set() };
globalThis.WebSocket = class extends TrackedWebSocket {
  constructor(url, ...rest) {
    super(url, ...rest);
    const at = new URL(url).host;
    (at === process.env.PARLEY_HOST_B ? socketHosts.bob : socketHosts.jane).add(at);
  }
};

const jane = await client(0);
const bob = await clientAt(1, process.env.PARLEY_HOST_B);
await ok(jane.startSession({ username: "jane" }), "jane session");
await ok(bob.startSession({ username: "bob" }), "bob session");
const general = async (user) => (await ok(user.listChannels(), "list")).paginator.items.find((c) => c.name === "general");
const [janeChannel, bobChannel] = [await general(jane), await general(bob)];

const heard = { jane: [], bob: [] };
const waits = [];
const hear = (who) => (message) => {
  heard[who].push(message.body ?? message.file?.name);
  for (const w of waits.filter((w) => w.who === who && (w.body === message.body || w.body === message.file?.name))) {
    w.resolve(message);
  }
};
const awaitHeard = (who, body) => within(new Promise((resolve) => waits.push({ who, body, resolve })), `${who} hears ${body}`);
bob.startChatSession({ channel: bobChannel, onMessageReceived: hear("bob") });
jane.startChatSession({ channel: janeChannel, onMessageReceived: hear("jane") });
await subscribed(`/topic/channels/${janeChannel.id}/`, 22, "both chat sessions");

const bobHearsA = awaitHeard("bob", "hello from host A");
await ok(jane.sendMessage({ channel: janeChannel, body: "hello from host A" }), "jane sends");
await bobHearsA;
const janeHearsB = awaitHeard("jane", "hello from host B");
await ok(bob.sendMessage({ channel: bobChannel, body: "hello from host B" }), "bob sends");
await janeHearsB;

const fileHeard = awaitHeard("bob", "notes.txt");
const content = "a file uploaded through host A";
const sent = await ok(jane.sendMessage({
  channel: janeChannel, file: { uri: `data:text/plain;base64,${Buffer.from(content).toString("base64")}`, name: "notes.txt" },
}), "jane sends a file");
const fileMessage = await fileHeard;
const url = new URL(fileMessage.file.url); // the SDK added bob's read grant
const uploadedThrough = url.host;
url.host = process.env.PARLEY_HOST_B;
const download = await fetch(url);

console.log(JSON.stringify({
  heard,
  sockets: { jane: [...socketHosts.jane], bob: [...socketHosts.bob] },
  file: { uploadedThrough, downloadedThrough: url.host, status: download.status, body: await download.text(), id: sent.message.id },
}));
jane.endSession();
bob.endSession();
process.exit(0);
