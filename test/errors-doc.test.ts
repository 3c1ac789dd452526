// docs/errors.md and the code's closed set of problem codes must list the same codes and statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { problemCodes } from '@wallet/kit';

test('docs/errors.md lists exactly the problem codes in the code, with the same statuses', async () => {
  const doc = await readFile(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
  const inCode = new Map(Object.entries(problemCodes).map(([code, { status }]) => [code, status]));
  assert.deepEqual([...documented.keys()].filter((c) => !inCode.has(c)), [], 'documented but not in the code');
  assert.deepEqual([...inCode.keys()].filter((c) => !documented.has(c)), [], 'in the code but not documented');
  for (const [code, status] of inCode) assert.equal(documented.get(code), status, `status of ${code}`);
});
