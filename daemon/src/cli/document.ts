// The documents `apply` and `patch` read: a file or stdin (`-`), YAML when the name ends in .yaml or
// .yml, JSON otherwise.
import { readFile } from 'node:fs/promises';
import type { JsonValue } from '@bufbuild/protobuf';
import { parse as parseYaml } from 'yaml';
import { UsageError } from './command.js';

export async function readDocument(file: string | undefined): Promise<JsonValue> {
  if (file === undefined) throw new UsageError('-f FILE is required');
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  try {
    return (/\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text)) as JsonValue;
  } catch (e) {
    throw new UsageError(`${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
