// The unmodified sails.io.js client (with the socket.io client it expects) against Parley's socket service
// (PARLEY_URL, APP_SECRET): subscribe, receive pushes from /wssv/send, /chat/send and /wssv/send-multi, unsubscribe and
// stop receiving, several sockets and channels, a wrong key refused. Prints what each socket received as one JSON line.
const io = require("sails.io.js")(require("socket.io-client"));

io.sails.autoConnect = false;
io.sails.environment = "production"; // no console chatter
const url = process.env.PARLEY_URL;
const secret = process.env.APP_SECRET;
function fail(step, detail) { console.error(`FAILED ${step}: ${JSON.stringify(detail)}`); process.exit(1); }
const within = (promise, step, ms = 10000) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${step}`)), ms))]);

function connect(query) {
  const socket = io.sails.connect(url, { query, reconnection: false, transports: ["websocket"] });
  socket.received = [];
  for (const event of ["Message", "score", "hello", "multi"]) {
    socket.on(event, (data) => socket.received.push([event, data]));
  }
  return socket;
}
// resolves once every socket has received at least as many events as asked
const received = (counts, step) => within(new Promise((resolve) => {
  const check = () => (counts.every(([socket, count]) => socket.received.length >= count) ? resolve() : setTimeout(check, 20));
  check();
}), step);
const connected = (socket, step) => within(new Promise((resolve) => socket.on("connect", resolve)), step);
const get = (socket, path, data) => within(new Promise((resolve) => socket.get(path, data, (body, jwr) => resolve({ body, status: jwr.statusCode }))), path);
const post = (socket, path, data) => within(new Promise((resolve) => socket.post(path, data, (body, jwr) => resolve({ body, status: jwr.statusCode }))), path);
async function push(path, body) {
  const response = await fetch(`${url}${path}`, {
    method: "POST", headers: { authorization: `key=${secret}`, "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (response.status !== 200 || answer.code !== 0) fail(path, answer);
  return answer;
}

(async () => {
  const a = connect(`key=${secret}`);
  const b = connect(`key=${secret}`);
  const c = connect(`key=${secret}`);
  await Promise.all([connected(a, "a connects"), connected(b, "b connects"), connected(c, "c connects")]);

  const subscribed = {
    a: await post(a, "/channel/subscribe", { channel: "news" }),
    b: await post(b, "/channel/subscribe", { channel: ["news", "sports"] }),
    c: await post(c, "/channel/subscribe", {}),
  };
  const tooMany = await post(a, "/channel/subscribe", { channel: Array.from({ length: 101 }, (_, i) => `c${i}`) });

  await push("/wssv/send", { channel: "news", data: { headline: "first" } });
  await push("/chat/send", { channel: "sports", event: "score", data: { home: 1 } });
  await received([[a, 1], [b, 2]], "the first pushes arrive");
  const unsubscribed = await post(a, "/channel/unsubscribe", { channel: "news" });
  await push("/wssv/send", { channel: "news", data: { headline: "second" } });
  await push("/wssv/send-multi", [
    { channel: "Guest", event: "hello", data: 1 },
    { channel: ["news", "sports"], event: "multi", data: "x" },
  ]);
  await received([[b, 5], [c, 1]], "the later pushes arrive");

  // what a's socket missed on "news" after it unsubscribed, fetched over the socket
  const missed = await get(a, "/wssv/message", { channel: "news", sort: "createdAt_ASC", skip: 1 });

  // a wrong key: the socket.io error arrives and the socket never joins
  const wrong = io.sails.connect(url, { query: "key=wrong", reconnection: false, transports: ["websocket"] });
  const refusal = await within(new Promise((resolve) => wrong.on("error", resolve)), "refusal");

  console.log(JSON.stringify({
    subscribed: Object.fromEntries(Object.entries(subscribed).map(([k, v]) => [k, [v.status, v.body.code, v.body.data.channels]])),
    tooMany: [tooMany.status, tooMany.body.code, tooMany.body.Error && tooMany.body.Error.field],
    unsubscribed: [unsubscribed.status, unsubscribed.body.data.channels],
    missed: missed.body.data.messages.map((m) => [m.event, m.data]),
    received: { a: a.received, b: b.received, c: c.received },
    refusal: String(refusal),
    wrongConnected: wrong.isConnected(),
  }));
  for (const socket of [a, b, c]) socket.disconnect();
  process.exit(0);
})().catch((error) => fail("scenario", String(error)));
