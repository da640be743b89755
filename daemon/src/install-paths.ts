// Where the daemon's own files are: the installation root holds package.json and proto/ (from a
// checkout, dist/ sits beside them; in the router image, /opt/vrouterd holds the same layout).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'proto', 'vrouter', 'v1', 'service.proto'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the vrouterd installation root (proto/vrouter/v1)');
    dir = parent;
  }
  return dir;
}

export const INSTALL_ROOT = findRoot();
export const PROTO_DIR = join(INSTALL_ROOT, 'proto');
export const VERSION = (
  JSON.parse(readFileSync(join(INSTALL_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
