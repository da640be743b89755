// Crash-safe file replacement: write a temporary file, fsync it, rename it over the target, fsync
// the directory. A reader sees the old content or the new, never a torn mix.
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const file = await open(tmp, 'w', 0o600);
  try {
    await file.writeFile(data);
    await file.sync();
  } catch (e) {
    await file.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await file.close();
  await rename(tmp, path);
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
