// Access taken away while unmodified @chatkitty/core clients are connected (PARLEY_HOST, API_KEY; CLIENT_ID and
// CLIENT_SECRET for the backend's Platform API calls): jane, bob and carol chat in the private channel "secret";
// the backend removes bob from it, then deletes carol, then sends a message. Prints what each client observed as one
// JSON line.
import { TrackedWebSocket, client, fail, host, ok, sleep, subscribed, within } from "./core_common.mjs";

globalThis.WebSocket = TrackedWebSocket;

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
await subscribed(`/topic/channels/${secret.id}/`, 11 * names.length, "every chat session");
const carolSocket = users.carol;

const heardBefore = (name) => new Promise((resolve) => {
  const check = () => (received[name].messages.includes("before") ? resolve() : setTimeout(check, 20));
  check();
});
await backend("POST", `/channels/${secret.id}/messages`, { type: "TEXT", body: "before" });
await within(Promise.all(names.map(heardBefore)), "everyone hears the first message");
await backend("DELETE", `/channels/${secret.id}/members/${received.bob.userId}`);
await backend("DELETE", `/users/${received.carol.userId}`);
await sleep(800); // not a wait for something a client sees: the control message reaches the process meanwhile
await backend("POST", `/channels/${secret.id}/messages`, { type: "TEXT", body: "after" });
const carolSends = await within(carolSocket.sendMessage({ channel: secret, body: "still here?" }), "carol sends", 5000)
  .catch((error) => ({ succeeded: false, error: { type: String(error.message) } }));
// the hub writes one event to all its listeners at once: had bob or carol been sent "after", it came with jane's
await within(new Promise((resolve) => {
  const check = () => (received.jane.messages.includes("after") ? resolve() : setTimeout(check, 20));
  check();
}), "jane hears the last message");

console.log(JSON.stringify({
  jane: received.jane.messages,
  bob: received.bob.messages,
  carol: received.carol.messages,
  carolSends: carolSends.succeeded ? "sent" : (carolSends.error && (carolSends.error.type || carolSends.error.message)) || "failed",
}));
process.exit(0);
