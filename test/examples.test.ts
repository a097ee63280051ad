import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

// The README's storage example must run as written.
test('examples/storage.js runs and reads back what it appended', () => {
  const root = path.resolve(__dirname, '..', '..');
  const out = execFileSync(process.execPath, [path.join(root, 'examples', 'storage.js')], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  assert.match(out, /^appended offsets 0\.\.1$/m);
  assert.match(out, /^0 user-1 signed up$/m);
  assert.match(out, /^1 user-2 signed up$/m);
  assert.match(out, /^appended offset 2 off the event loop$/m);
  assert.match(out, /^2 user-1 logged in$/m);
  assert.match(out, /^log start 0, log end 3$/m);
});
