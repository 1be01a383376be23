// Which dependency specs name a package of the npm registry, decided by npm's own parser (npm-package-arg, bundled
// with npm): functions/runtime.py refuses every other kind (file:, link:, workspace:, directories, git, GitHub
// shorthands, tarball URLs) before npm sees them.
//
// stdin: [[name, spec], ...]; stdout: [true | "why not", ...] in the same order.

const path = require('node:path');

const npa = require(path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules',
  'npm-package-arg'));

const REGISTRY_TYPES = new Set(['version', 'range', 'tag', 'alias']);

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const verdicts = JSON.parse(input).map(([name, spec]) => {
    try {
      const parsed = npa.resolve(name, spec);
      if (parsed.registry === true && REGISTRY_TYPES.has(parsed.type)) return true;
      return `is a ${parsed.type} spec`;
    } catch (error) {
      return error.code === 'EUNSUPPORTEDPROTOCOL' ? 'uses an unsupported protocol' : 'is not a valid spec';
    }
  });
  process.stdout.write(JSON.stringify(verdicts));
});
