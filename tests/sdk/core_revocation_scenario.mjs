// Access taken away while unmodified @chatkitty/core clients are connected (PARLEY_HOST, API_KEY; CLIENT_ID and
// CLIENT_SECRET for the backend's Platform API calls): jane, bob and carol chat in the private channel "secret";
// the backend removes bob from it, then deletes carol, then sends a message. Prints what each client observed as one
// JSON line.
import WebSocket from "ws";

import { client, fail, host, ok, sleep, within } from "./core_common.mjs";

globalThis.WebSocket = WebSocket;

const basic = Buffer.from(`${process.env.CLIENT_ID}:${process.env.CLIENT_SECRET}`).toString("base64");
const { access_token: token } = await (await fetch(`http://${host}/oauth/token`, {
  method: "POST", headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
  body: "grant_type=client_credentials",
})).json();
async function backend(method, path, body) {
  const response = await fetch(`http://${host}/v1${path}`, {
    method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status !== 200) fail(`${method} ${path}`, await response.text());
  return response.json();
}

const names = ["jane", "bob", "carol"];
const users = {};
const received = {};
let secret;
for (const [n, name] of names.entries()) {
  users[name] = await client(n);
  const session = await ok(users[name].startSession({ username: name }), `${name} session`);
  received[name] = { userId: session.session.user.id, messages: [] };
  const listed = await ok(users[name].listChannels(), `${name} lists channels`);
  const channel = listed.paginator.items.find((c) => c.name === "secret");
  if (!channel) fail(`${name} finds the channel`, listed.paginator.items.map((c) => c.name));
  secret = channel;
  const chat = users[name].startChatSession({
    channel, onMessageReceived: (message) => received[name].messages.push(message.body),
  });
  if (!chat.succeeded) fail(`${name} chat session`, chat.error);
}
await sleep(500);
const carolSocket = users.carol;

await backend("POST", `/channels/${secret.id}/messages`, { type: "TEXT", body: "before" });
await sleep(800);
await backend("DELETE", `/channels/${secret.id}/members/${received.bob.userId}`);
await backend("DELETE", `/users/${received.carol.userId}`);
await sleep(800);
await backend("POST", `/channels/${secret.id}/messages`, { type: "TEXT", body: "after" });
const carolSends = await within(carolSocket.sendMessage({ channel: secret, body: "still here?" }), "carol sends", 5000)
  .catch((error) => ({ succeeded: false, error: { type: String(error.message) } }));
await sleep(1500);

console.log(JSON.stringify({
  jane: received.jane.messages,
  bob: received.bob.messages,
  carol: received.carol.messages,
  carolSends: carolSends.succeeded ? "sent" : (carolSends.error && (carolSends.error.type || carolSends.error.message)) || "failed",
}));
process.exit(0);
