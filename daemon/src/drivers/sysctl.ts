// Kernel parameters under /proc/sys of the daemon's network namespace.
import { readFile, writeFile } from 'node:fs/promises';

export async function readSysctl(path: string): Promise<string> {
  return (await readFile(`/proc/sys/${path}`, 'utf8')).trim();
}

export async function writeSysctl(path: string, value: string): Promise<void> {
  await writeFile(`/proc/sys/${path}`, value);
}
