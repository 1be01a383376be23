// npm inside an application's sandbox (functions/sandbox.py), whose network namespace has only a loopback device:
// this opens 127.0.0.1:3128 inside it and pipes each connection to the Unix socket PARLEY_REGISTRY_GATE, where
// Parley's registry gate (an HTTP proxy that only reaches the npm registry) answers; npm is pointed at that proxy.
// Then npm runs in this process with the arguments given after this script's path.
import net from 'node:net';
import path from 'node:path';

const gate = process.env.PARLEY_REGISTRY_GATE;
delete process.env.PARLEY_REGISTRY_GATE;
const server = net.createServer((client) => {
  const upstream = net.connect({ path: gate });
  client.pipe(upstream).pipe(client);
  const end = () => { client.destroy(); upstream.destroy(); };
  client.on('error', end);
  upstream.on('error', end);
});
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(3128, '127.0.0.1', resolve);
});
server.unref();
const npm = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
process.argv = [process.argv[0], npm, ...process.argv.slice(2)];
await import(npm);
