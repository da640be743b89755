// Golden files: the expected output of a renderer, checked in under test/unit/golden/. A mismatch
// fails the test; `UPDATE_GOLDEN=1 make unit` rewrites them (review the diff before committing).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../../../test/unit/golden/', import.meta.url));

export function golden(name: string, value: unknown): { actual: string; expected: string } {
  const actual = `${JSON.stringify(value, null, 2)}\n`;
  const path = `${DIR}${name}`;
  if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(path)) writeFileSync(path, actual);
  return { actual, expected: readFileSync(path, 'utf8') };
}
