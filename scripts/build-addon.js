#!/usr/bin/env node
// Builds build/Release/strand.node with node-gyp, offline: the headers come from the
// prefix of the running node (--nodedir), never from a download (DESIGN.md lessons).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const staticLib = path.join(root, 'native', 'target', 'release', 'libstrand_engine.a');
if (!fs.existsSync(staticLib)) {
  console.error(`build-addon: ${staticLib} is missing; run npm run build:native first`);
  process.exit(1);
}

const nodeDir = process.env.STRAND_NODEDIR || path.dirname(path.dirname(process.execPath));
const commonGypi = path.join(nodeDir, 'include', 'node', 'common.gypi');
if (!fs.existsSync(commonGypi)) {
  console.error(`build-addon: no Node headers under ${nodeDir} (looked for ${commonGypi}); set STRAND_NODEDIR`);
  process.exit(1);
}

const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
const args = [nodeGyp, 'rebuild', '--release', `--nodedir=${nodeDir}`, '--jobs=max'];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (result.error) {
  console.error(`build-addon: ${result.error.message}`);
  process.exit(1);
}
if (result.status !== 0) process.exit(result.status ?? 1);
const addon = path.join(root, 'build', 'Release', 'strand.node');
if (!fs.existsSync(addon)) {
  console.error(`build-addon: node-gyp succeeded but ${addon} is missing`);
  process.exit(1);
}

// A shared object may link with undefined symbols and only die at the first call, so
// check that the engine's C ABI really made it in (an archive without the symbols links
// "fine"), then load the addon once in a child process.
const nm = spawnSync('nm', ['-u', addon], { encoding: 'utf8' });
if (nm.status === 0) {
  const missing = nm.stdout.split('\n').filter((l) => /\bstrand_\w+/.test(l)).map((l) => l.trim());
  if (missing.length > 0) {
    console.error(`build-addon: the engine archive lacks symbols: ${missing.join(', ')}`);
    fs.rmSync(addon);
    process.exit(1);
  }
}
const smoke = spawnSync(
  process.execPath,
  ['-e', `const a = require(${JSON.stringify(addon)}); if (a.crc32c(Buffer.from('123456789')) !== 0xe3069283) process.exit(2);`],
  { stdio: 'inherit' },
);
if (smoke.status !== 0) {
  console.error('build-addon: the built addon failed to load or to compute a CRC');
  fs.rmSync(addon);
  process.exit(1);
}
