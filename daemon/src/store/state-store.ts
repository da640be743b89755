// The last good desired state on disk (`<state dir>/config.json`): generation, time and the config in
// its proto3 JSON form, so an operator can read it. Written only after the data plane holds it.
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { type JsonValue, fromJson, toJson } from '@bufbuild/protobuf';
import { type RouterConfig, RouterConfigSchema } from '../gen/vrouter/v1/config_pb.js';
import { writeFileAtomic } from './atomic-file.js';

export interface PersistedState {
  readonly generation: bigint;
  readonly appliedAt: Date;
  readonly config: RouterConfig;
}

interface StateFile {
  generation: string;
  appliedAt: string;
  config: JsonValue;
}

export class StateStore {
  private readonly path: string;

  constructor(private readonly dir: string) {
    this.path = join(dir, 'config.json');
  }

  async load(): Promise<PersistedState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const file = JSON.parse(text) as StateFile;
    return {
      generation: BigInt(file.generation),
      appliedAt: new Date(file.appliedAt),
      config: fromJson(RouterConfigSchema, file.config, { ignoreUnknownFields: true }),
    };
  }

  async save(state: PersistedState): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file: StateFile = {
      generation: state.generation.toString(),
      appliedAt: state.appliedAt.toISOString(),
      config: toJson(RouterConfigSchema, state.config),
    };
    await writeFileAtomic(this.path, `${JSON.stringify(file, null, 1)}\n`);
  }

  /** Moves an unreadable state file aside so the daemon can start empty and the file stays for a post-mortem. */
  async quarantine(): Promise<string> {
    const aside = `${this.path}.unreadable-${Date.now()}`;
    await rename(this.path, aside);
    return aside;
  }
}
