#!/usr/bin/env node
// Load clients for bench/fanout.py and bench/push.py. --proto stomp: N StompX sessions (the protocol of
// @chatkitty/core) on one channel's messages topic, and a publisher that sends messages through the Platform API.
// --proto sails: N socket-service sockets (engine.io 3 / socket.io 2 framing, as sails.io.js speaks it) subscribed
// to one channel name, and a publisher that POSTs /wssv/send with the application secret. Either way the publisher
// keeps a fixed rate and each payload carries {"__bench": {"seq", "t"}}, t taken just before its POST, so
// send-to-receive latency uses one clock. Prints one JSON object. With --hold, it connects and subscribes, prints
// {"ready": n}, and idles until SIGTERM (memory runs). With --stalled K, K more StompX sessions subscribe and then
// stop reading (their sockets paused): they are left out of the counts, and the result says how many of them the
// server closed (a slow client must not slow the others). Cheap on purpose: frames are matched as strings first.
import http from 'node:http';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const require = createRequire(new URL('../tests/sdk/package.json', import.meta.url));
const WebSocket = require('ws');

const { values: A } = parseArgs({
  options: {
    url: { type: 'string' },            // http://127.0.0.1:PORT
    url2: { type: 'string' },           // a second host: odd-numbered StompX sessions connect there (bench.fanout --hosts)
    proto: { type: 'string', default: 'stomp' },
    key: { type: 'string' },            // application API key
    secret: { type: 'string' },         // application secret (sails)
    token: { type: 'string' },          // Platform API bearer token
    channel: { type: 'string' },
    sender: { type: 'string' },         // user id that sends
    users: { type: 'string', default: 'user-' },
    subs: { type: 'string', default: '500' },
    stalled: { type: 'string', default: '0' },
    events: { type: 'string', default: '200' },
    rate: { type: 'string', default: '20' },
    'payload-bytes': { type: 'string', default: '100' },
    'connect-concurrency': { type: 'string', default: '50' },
    'drain-seconds': { type: 'string', default: '30' },
    hold: { type: 'boolean', default: false },
    deflate: { type: 'boolean', default: false }, // offer permessage-deflate, as browsers do
  },
});
const N = +A.subs, M = +A.events, RATE = +A.rate;
const PAD = 'x'.repeat(+A['payload-bytes']);
const base = new URL(A.url);
const second = A.url2 ? new URL(A.url2) : base;
if (![base, second].every((u) => ['127.0.0.1', 'localhost'].includes(u.hostname))) throw new Error('loopback only');
const now = () => performance.timeOrigin + performance.now();
const topic = `/topic/channels/${A.channel}/messages`;

const frame = (command, headers, body = '') =>
  `${command}\n${Object.entries(headers).map(([k, v]) => `${k}:${v}`).join('\n')}\n\n${body}\0`;

const latencies = [];
const received = new Map(); // seq -> count
let unknown = 0, errors = 0, lastReceive = 0, expected = 0, delivered = 0;
let doneResolve;
const done = new Promise((resolve) => (doneResolve = resolve));

function record(bench, t) {
  if (bench.seq < 0) return;
  latencies.push(t - bench.t);
  received.set(bench.seq, (received.get(bench.seq) || 0) + 1);
  lastReceive = t;
  if (++delivered === expected) doneResolve();
}

function onSailsMessage(data) {
  const text = data.toString();
  if (!text.startsWith('42["Message"')) {
    if (text.startsWith('44')) errors++;
    return;
  }
  const t = now();
  const bench = JSON.parse(text.slice(2))[1]?.__bench;
  if (bench === undefined) { unknown++; return; }
  record(bench, t);
}

function connectSails() {
  return new Promise((resolve, reject) => {
    const query = `key=${encodeURIComponent(A.secret)}&__sails_io_sdk_version=1.2.1&EIO=3&transport=websocket`;
    const ws = new WebSocket(`ws://${base.host}/socket.io/?${query}`, { perMessageDeflate: A.deflate });
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('connect timeout')); }, 30000);
    const subscribe = { method: 'post', headers: {}, data: { channel: A.channel }, url: '/channel/subscribe' };
    ws.on('message', function setup(data) {
      const text = data.toString();
      if (text === '40') {
        ws.send(`421${JSON.stringify(['post', subscribe])}`);
      } else if (text.startsWith('431')) {
        clearTimeout(timer);
        ws.off('message', setup);
        if (JSON.parse(text.slice(3))[0].body.code !== 0) { ws.terminate(); reject(new Error(text)); return; }
        ws.on('message', onSailsMessage);
        resolve(ws);
      } else if (text.startsWith('44')) {
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(text));
      }
    });
    ws.once('error', (error) => { clearTimeout(timer); reject(error); });
  });
}

function onMessage(data) {
  const text = data.toString();
  if (!text.startsWith('MESSAGE')) {
    if (text.startsWith('ERROR') || text.includes('/user/queue/errors')) errors++;
    return;
  }
  const t = now();
  const start = text.indexOf('\n\n');
  const resource = JSON.parse(text.slice(start + 2, text.lastIndexOf('\0'))).resource;
  let bench;
  try { bench = JSON.parse(resource.body).__bench; } catch { unknown++; return; }
  record(bench, t);
}

function connect(i) {
  return new Promise((resolve, reject) => {
    const host = i % 2 ? second.host : base.host;
    const ws = new WebSocket(`ws://${host}/rtm/websocket?api-key=${A.key}`, 'v12.stomp', { perMessageDeflate: A.deflate });
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('connect timeout')); }, 30000);
    ws.once('open', () => ws.send(frame('CONNECT', { 'accept-version': '1.2', host: base.hostname, 'heart-beat': '0,0', 'StompX-User': `${A.users}${i}` })));
    ws.on('message', function setup(data) {
      const text = data.toString();
      if (text.startsWith('CONNECTED')) {
        ws.send(frame('SUBSCRIBE', { id: 'sub-0', destination: topic, receipt: 'r-0' }));
      } else if (text.startsWith('RECEIPT')) {
        clearTimeout(timer);
        ws.off('message', setup);
        ws.on('message', onMessage);
        resolve(ws);
      } else if (text.startsWith('ERROR') || text.startsWith('MESSAGE')) {
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(text.slice(0, 300)));
      }
    });
    ws.once('error', (error) => { clearTimeout(timer); reject(error); });
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
function publish(seq) {
  const t = now();
  const sails = A.proto === 'sails';
  const body = sails
    ? JSON.stringify({ channel: A.channel, data: { __bench: { seq, t }, pad: PAD } })
    : JSON.stringify({ type: 'TEXT', user: { id: +A.sender }, body: JSON.stringify({ __bench: { seq, t }, pad: PAD }) });
  return new Promise((resolve, reject) => {
    const request = http.request({
      agent, host: base.hostname, port: base.port, method: 'POST',
      path: sails ? '/wssv/send' : `/v1/channels/${A.channel}/messages`,
      headers: {
        'content-type': 'application/json', 'content-length': Buffer.byteLength(body),
        authorization: sails ? `key=${A.secret}` : `Bearer ${A.token}`,
      },
    }, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode < 300 ? resolve(now() - t) : reject(new Error(`HTTP ${response.statusCode}`))));
    });
    request.on('error', reject);
    request.end(body);
  });
}

function percentile(sorted, p) {
  return sorted.length ? +sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)].toFixed(1) : null;
}

async function main() {
  const clients = [];
  let next = 0, connectErrors = 0;
  const began = now();
  await Promise.all(Array.from({ length: Math.min(+A['connect-concurrency'], N) }, async () => {
    while (next < N) {
      const i = next++;
      try { clients.push(await (A.proto === 'sails' ? connectSails() : connect(i))); } catch (error) { if (++connectErrors <= 3) console.error('connect', error.message); }
    }
  }));
  const connectSeconds = (now() - began) / 1000;
  const stalled = [];
  for (let i = N; i < N + +A.stalled; i++) {
    const ws = await connect(i);
    ws.off('message', onMessage);
    ws.closedWith = null;
    ws.on('close', (code) => { ws.closedWith = code; });
    ws._socket.pause(); // reads nothing more: what the server sends piles up in the kernel, then in its own buffer
    stalled.push(ws);
  }
  if (A.hold) {
    console.log(JSON.stringify({ ready: clients.length, connect_errors: connectErrors, connect_s: +connectSeconds.toFixed(2) }));
    process.on('SIGTERM', () => { for (const ws of clients) ws.terminate(); process.exit(0); });
    setInterval(() => {}, 1 << 30);
    return;
  }
  for (let w = 1; w <= 5; w++) await publish(-w);
  await new Promise((resolve) => setTimeout(resolve, 500));
  expected = clients.length * M;
  console.log('publishing');
  const cpuBefore = process.cpuUsage();
  const publishLatencies = [];
  let publishErrors = 0;
  const first = now();
  const inflight = [];
  for (let seq = 0; seq < M; seq++) {
    const wait = first + (seq * 1000) / RATE - now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    inflight.push(publish(seq).then((l) => publishLatencies.push(l), () => publishErrors++));
  }
  await Promise.all(inflight);
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 1000 * +A['drain-seconds']))]);
  const cpu = process.cpuUsage(cpuBefore);
  const elapsed = (now() - first) / 1000;
  console.log('drained');
  for (const ws of stalled) ws._socket.resume(); // read what piled up, and the close, if the server closed it
  if (stalled.length) await new Promise((resolve) => setTimeout(resolve, 2000));
  const span = (lastReceive - first) / 1000;
  latencies.sort((a, b) => a - b);
  publishLatencies.sort((a, b) => a - b);
  let duplicates = 0, lost = 0;
  for (let seq = 0; seq < M; seq++) {
    const count = received.get(seq) || 0;
    duplicates += Math.max(0, count - clients.length);
    lost += Math.max(0, clients.length - count);
  }
  console.log(JSON.stringify({
    subscribers: clients.length, connect_errors: connectErrors, connect_s: +connectSeconds.toFixed(2), events: M,
    expected, delivered, lost, duplicates, unknown_frames: unknown, error_frames: errors,
    publish_errors: publishErrors, delivered_per_s: span > 0 ? Math.round(delivered / span) : null,
    latency_ms: { p50: percentile(latencies, 0.5), p90: percentile(latencies, 0.9), p99: percentile(latencies, 0.99), max: percentile(latencies, 1) },
    publish_ms: { p50: percentile(publishLatencies, 0.5), p99: percentile(publishLatencies, 0.99) },
    publish_and_drain_s: +elapsed.toFixed(3),
    stalled: stalled.length, stalled_closed_by_server: stalled.filter((ws) => ws.closedWith !== null).length,
    client_cpu_percent: Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 100),
  }));
  for (const ws of [...clients, ...stalled]) ws.terminate();
  agent.destroy();
}
main().catch((error) => { console.error(error); process.exit(1); });
