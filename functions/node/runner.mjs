// One warm chat-function worker: runs one application's handlers, one at a time, for the Python pool
// (functions/pool.py) that started it.
//
// Requests arrive as JSON lines on stdin; answers leave as JSON lines on stdout, each after the marker the init
// request chose, so that anything else a script writes there is told apart (the pool keeps it as log lines). The pool starts this file under Node's permission model
// (reads only in this folder and the application's own, no writes, no child processes, no workers, no addons), with
// an environment holding only the application's variables, and kills the process when a run overruns its time.
// All of that inside the application's bubblewrap sandbox (functions/sandbox.py), whose network namespace has only
// a loopback device: the runner then listens on 127.0.0.1:apiBridge.port and pipes each connection to the Unix
// socket apiBridge.socket, the sandbox's one way to Parley's API.
//
//   {"op": "init", "marker", "apiUrl", "allowedAddresses": [...], "initScript": path | null,
//    "apiBridge": {"socket", "port"} | undefined}
//   {"op": "run", "handler": path, "event": {...}, "token", "origin"}
// each answered by {"ok": true, "result", "logs", "durationMs"} or {"ok": false, "error", "logs", "durationMs"}.

import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import { registerHooks, stripTypeScriptTypes } from 'node:module';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import vm from 'node:vm';

import * as platform from 'chatkitty-platform-sdk';

delete process.env.PWD; // bubblewrap always sets it; the environment is the application's variables only

const MAX_LOG_LINES = 200;
const MAX_LOG_CHARS = 64 * 1024;
const RUNNER_URL = import.meta.url;

let apiUrl = '';
let marker = '';
let logs = null; // the running invocation's log lines (null between runs)
let logChars = 0;

function answer(message) {
  fs.writeSync(1, `\n${marker}${JSON.stringify(message)}\n`);
}

// Console output of tenant code is the invocation's log.
for (const level of ['log', 'info', 'debug', 'warn', 'error', 'trace']) {
  console[level] = (...args) => {
    if (logs === null || logs.length >= MAX_LOG_LINES || logChars >= MAX_LOG_CHARS) return;
    const line = (level === 'log' || level === 'info' ? '' : `[${level}] `) + format(...args);
    logs.push(line.slice(0, MAX_LOG_CHARS - logChars));
    logChars += line.length;
  };
}

// Packages of the default set (chatkitty-platform-sdk and what it brings) resolve from the runner's own folder when
// the application's folder does not have them.
registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      const bare = !specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.includes(':');
      if (!bare || error.code !== 'ERR_MODULE_NOT_FOUND') throw error;
      return nextResolve(specifier, { ...context, parentURL: RUNNER_URL });
    }
  },
});

// Network: a script may reach the internet and this Parley, never another service on the server's own networks
// (its database, its Redis) nor a cloud metadata address.
let allowedAddresses = new Set();
const PRIVATE = new net.BlockList();
for (const [address, prefix] of [['127.0.0.0', 8], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16],
  ['169.254.0.0', 16], ['100.64.0.0', 10], ['0.0.0.0', 8]]) {
  PRIVATE.addSubnet(address, prefix, 'ipv4');
}
for (const [address, prefix] of [['::1', 128], ['fc00::', 7], ['fe80::', 10], ['::', 128], ['::ffff:0:0', 96]]) {
  PRIVATE.addSubnet(address, prefix, 'ipv6');
}

function refused(address, port) {
  if (allowedAddresses.has(`${address}:${port}`)) return null;
  const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
  if (!PRIVATE.check(address, family)) return null;
  const error = new Error(`connect EACCES ${address}:${port}: chat functions may not reach the server's private networks`);
  error.code = 'EACCES';
  return error;
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  // net.connect() hands over its arguments already normalized, as one array.
  const normalized = args.length === 1 && Array.isArray(args[0]) ? args[0] : net._normalizeArgs(args);
  const options = normalized[0];
  if (options.path) throw Object.assign(new Error('chat functions may not open local sockets'), { code: 'EACCES' });
  const host = options.host || 'localhost';
  const port = Number(options.port);
  if (net.isIP(host)) {
    const error = refused(host, port);
    if (error) throw error;
  } else {
    const lookup = options.lookup || dns.lookup;
    options.lookup = (hostname, lookupOptions, callback) => {
      lookup(hostname, lookupOptions, (error, address, family) => {
        if (error) return callback(error, address, family);
        const addresses = Array.isArray(address) ? address.map((entry) => entry.address) : [address];
        const denial = addresses.map((each) => refused(each, port)).find(Boolean);
        return denial ? callback(denial) : callback(null, address, family);
      });
    };
  }
  return connect.apply(this, normalized);
};
dgram.createSocket = () => {
  throw Object.assign(new Error('chat functions may not use UDP'), { code: 'EACCES' });
};

// The context handed to every run: Platform API clients authorized as the application, marked as coming from this
// invocation so that what they cause does not trigger the same function again.
const API_CLASSES = {
  Application: platform.ApplicationApi,
  Channel: platform.ChannelsApi,
  ChatSession: platform.ChatSessionsApi,
  Function: platform.FunctionsApi,
  FunctionVersion: platform.FunctionVersionsApi,
  Import: platform.ImportsApi,
  Job: platform.JobsApi,
  Message: platform.MessagesApi,
  Runtime: platform.RuntimeApi,
  Thread: platform.ThreadsApi,
  User: platform.UsersApi,
  UserSession: platform.UserSessionsApi,
};
// Names of the first chatkitty-platform-sdk (1.x), which the reference's sample handlers still use.
const LEGACY_NAMES = {
  User: { getUserExists: 'checkUserExists' },
  Channel: { createChannelMember: 'addChannelMember', createChannelModerator: 'addChannelModerator' },
};

function makeContext(token, origin) {
  const configuration = new platform.Configuration({
    basePath: apiUrl,
    accessToken: token,
    baseOptions: { headers: { 'X-Parley-Origin': origin } },
  });
  const context = {};
  for (const [name, Api] of Object.entries(API_CLASSES)) {
    let api;
    context[`get${name}Api`] = () => {
      if (!api) {
        api = new Api(configuration);
        for (const [legacy, current] of Object.entries(LEGACY_NAMES[name] || {})) {
          api[legacy] = api[current].bind(api);
        }
      }
      return api;
    };
  }
  return context;
}

function describe(error) {
  if (error && error.isAxiosError && error.response) {
    const body = JSON.stringify(error.response.data);
    return `${error.message}: ${error.config?.method?.toUpperCase()} ${error.config?.url} answered ${body}`;
  }
  if (error instanceof Error) return error.stack || String(error);
  return `thrown: ${format(error)}`;
}

function serializable(value) {
  if (value === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(value));
  } catch {
    return format(value);
  }
}

// The initialization script: a module (its exports become globals) or a plain script (its top-level declarations
// are globals), run once when the worker starts.
async function initialize(path) {
  if (!path) return;
  const source = fs.readFileSync(path, 'utf8');
  const code = stripTypeScriptTypes(source, { mode: 'transform' });
  let script;
  try {
    script = new vm.Script(code, { filename: 'initialization-script.ts' });
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  if (script) {
    script.runInThisContext();
    return;
  }
  Object.assign(globalThis, await import(pathToFileURL(path).href));
}

function openApiBridge({ socket, port }) {
  const server = net.createServer((client) => {
    const upstream = new net.Socket();
    connect.call(upstream, { path: socket });
    client.pipe(upstream).pipe(client);
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('error', end);
    upstream.on('error', end);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
}

async function handle(request) {
  if (request.op === 'init') {
    marker = request.marker;
    apiUrl = request.apiUrl;
    allowedAddresses = new Set(request.allowedAddresses);
    if (request.apiBridge) await openApiBridge(request.apiBridge);
    await initialize(request.initScript);
    return null;
  }
  const module = await import(pathToFileURL(request.handler).href);
  const handler = module.__parley_handler ?? module.handleEvent ?? module.default;
  if (typeof handler !== 'function') {
    throw new Error('The script defines no handleEvent(event, context) function.');
  }
  return handler(request.event, makeContext(request.token, request.origin));
}

process.on('uncaughtException', (error) => {
  answer({ ok: false, error: `uncaught exception: ${describe(error)}`, logs: logs || [], durationMs: 0 });
  process.exit(70);
});
process.on('unhandledRejection', (reason) => {
  if (logs !== null) logs.push(`[error] unhandled rejection: ${describe(reason)}`);
});

const requests = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of requests) {
  logs = [];
  logChars = 0;
  const started = performance.now();
  let message;
  try {
    const result = await handle(JSON.parse(line));
    message = { ok: true, result: serializable(result), logs };
  } catch (error) {
    message = { ok: false, error: describe(error), logs };
  }
  message.durationMs = performance.now() - started;
  logs = null;
  answer(message);
}
