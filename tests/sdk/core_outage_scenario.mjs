// Two unmodified @chatkitty/core clients (jane and bob, ws as their WebSocket) chat in #general while the test breaks
// a part of the server under them (PARLEY_HOST, API_KEY). Protocol with the test: this script prints {"phase":"ready"}
// once both chat sessions are subscribed, then one line {"who","id","at"} for each message a client's
// onMessageReceived hears (at: milliseconds since the epoch); on a line "send <body>" jane sends through her client
// and it prints {"sent": <id>}; on "end" it prints how many sockets the clients opened in all, and exits.
import readline from "node:readline";
import { TrackedWebSocket, client, ok, subscribed } from "./core_common.mjs";

globalThis.WebSocket = TrackedWebSocket;
const print = (line) => console.log(JSON.stringify(line));

const clients = { jane: await client(0), bob: await client(1) };
const channels = {};
for (const [who, user] of Object.entries(clients)) {
  await ok(user.startSession({ username: who }), `${who}'s session`);
  channels[who] = (await ok(user.listChannels(), "list")).paginator.items.find((c) => c.name === "general");
  user.startChatSession({
    channel: channels[who],
    onMessageReceived: (message) => print({ who, id: message.id, at: Date.now() }),
  });
}
await subscribed(`/topic/channels/${channels.jane.id}/`, 22, "both chat sessions");
print({ phase: "ready" });

for await (const line of readline.createInterface({ input: process.stdin })) {
  if (line.startsWith("send ")) {
    const sent = await ok(clients.jane.sendMessage({ channel: channels.jane, body: line.slice(5) }), "jane sends", 45000);
    print({ sent: sent.message.id });
  } else if (line === "end") {
    print({ sockets: TrackedWebSocket.opened });
    for (const user of Object.values(clients)) user.endSession();
    process.exit(0);
  }
}
