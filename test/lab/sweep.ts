// Removes lab namespaces left by test runs whose process is gone (a run killed with -9 cannot
// clean up after itself). Namespaces of live runs and of `make lab` are left alone.
import { listNamespaces, removeNamespaceSync } from './exec.js';
import { RUN_PREFIX } from './topology.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const orphans = listNamespaces().filter((ns) => {
  const owner = RUN_PREFIX.exec(ns)?.[1];
  return owner !== undefined && !alive(Number(owner));
});
for (const ns of orphans) removeNamespaceSync(ns);
if (orphans.length > 0) process.stdout.write(`removed ${orphans.length} orphaned lab namespaces\n`);
