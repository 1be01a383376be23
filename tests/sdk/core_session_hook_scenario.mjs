// An unmodified @chatkitty/core client starts a session as USERNAME with authParams {displayName: DISPLAY_NAME}
// against Parley (PARLEY_HOST, API_KEY), where a user.attempted.start_session function decides; prints the outcome
// and the channels the user is then in as one JSON line.
import WebSocket from "ws";
globalThis.WebSocket = WebSocket;
const { getSdkClient } = await import("@chatkitty/core");

const client = getSdkClient(process.env.API_KEY, { $environment: { host: process.env.PARLEY_HOST, secure: false } });
const timeout = (ms) => new Promise((resolve) => setTimeout(() => resolve({ succeeded: false, error: { message: "timeout" } }), ms));
const started = await Promise.race([
  client.startSession({ username: process.env.USERNAME, authParams: { displayName: process.env.DISPLAY_NAME } }),
  timeout(20000),
]);
const outcome = { succeeded: started.succeeded };
if (started.succeeded) {
  outcome.user = { name: started.session.user.name, displayName: started.session.user.displayName };
  const listed = await client.listChannels();
  outcome.channels = listed.succeeded ? listed.paginator.items.map((channel) => channel.name) : listed.error;
  await client.endSession();
} else {
  outcome.error = started.error?.message ?? String(started.error);
}
console.log(JSON.stringify(outcome));
process.exit(0);
