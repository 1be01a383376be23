// What the @chatkitty/core scenarios share: failing with a step's name, time limits, and one SDK client per user
// (getSdkClient caches one client per API key, so each user gets its own instance of the module), pointed at Parley
// (PARLEY_HOST, or another host with clientAt; API_KEY).
import WebSocket from "ws";

export const host = process.env.PARLEY_HOST;

export function fail(step, detail) { console.error(`FAILED ${step}: ${JSON.stringify(detail)}`); process.exit(1); }
export const within = (promise, step, ms = 10000) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${step}`)), ms))]);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export async function ok(promise, step, ms) {
  const result = await within(promise, step, ms);
  if (!result.succeeded) fail(step, result.error);
  return result;
}
const moduleUrl = import.meta.resolve("@chatkitty/core");
export async function clientAt(n, at) {
  const { getSdkClient } = await import(`${moduleUrl}?user=${n}`);
  return getSdkClient(process.env.API_KEY, { $environment: { host: at, secure: false } });
}
export const client = (n) => clientAt(n, host);

// A WebSocket that notes every topic SUBSCRIBE its client sends and the RECEIPT that confirms it (the SDK asks for
// one on each), so that a scenario waits until chat sessions are subscribed instead of waiting a while.
const awaiting = new Map(); // receipt id → destination
const confirmed = [];
const onConfirmed = new Set();
const header = (frame, name) => new RegExp(`\n${name}:([^\n]*)`).exec(frame)?.[1];
export class TrackedWebSocket extends WebSocket {
  static opened = 0;

  constructor(...args) {
    super(...args);
    TrackedWebSocket.opened += 1;
    this.addEventListener("message", (event) => {
      const frame = String(event.data);
      const receipt = frame.startsWith("RECEIPT\n") ? header(frame, "receipt-id") : undefined;
      if (receipt === undefined || !awaiting.has(receipt)) return;
      confirmed.push(awaiting.get(receipt));
      awaiting.delete(receipt);
      for (const check of onConfirmed) check();
    });
  }

  send(data, ...rest) {
    const frame = String(data);
    if (frame.startsWith("SUBSCRIBE\n") && header(frame, "receipt")) awaiting.set(header(frame, "receipt"), header(frame, "destination"));
    return super.send(data, ...rest);
  }
}

// Resolves once `count` subscriptions to destinations starting with `prefix` are confirmed (a chat session
// subscribes to its channel's 11 topics).
export function subscribed(prefix, count, step) {
  return within(new Promise((resolve) => {
    const check = () => {
      if (confirmed.filter((destination) => destination.startsWith(prefix)).length < count) return;
      onConfirmed.delete(check);
      resolve();
    };
    onConfirmed.add(check);
    check();
  }), step);
}

// Callbacks turned into promises: `on` is the callback, `next(match, step)` the promise of its next call that matches.
export function waiter() {
  const waits = [];
  return {
    on: (...args) => { for (const w of [...waits]) if (w.match(...args)) { waits.splice(waits.indexOf(w), 1); w.resolve(args); } },
    next: (match, step) => within(new Promise((resolve) => waits.push({ match, resolve })), step),
  };
}
