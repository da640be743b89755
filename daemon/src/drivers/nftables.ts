// nftables through libnftables in process (koffi FFI): one netlink transaction per call with no
// process start, which is what makes a one-element Patch cost microseconds rather than the ~6 ms of
// spawning `nft`. The `exec` transport (`nft -j` per call) is kept for comparison in `make bench` and for
// systems without libnftables. Both speak nft's JSON (libnftables-json(5)).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi, { type LibraryHandle } from 'koffi';
import type { NftCommand } from '../nft/commands.js';

export class NftError extends Error {
  override readonly name = 'NftError';
}

export interface NftTransport {
  /** Runs the commands as one transaction: all or nothing. */
  run(commands: readonly NftCommand[]): Promise<void>;
  /** `nft -j -p [-t] list table FAMILY NAME`; undefined when the table does not exist. */
  listTable(family: string, name: string, terse: boolean): Promise<unknown[] | undefined>;
  /** `nft -j -p [-t] list WHAT` (e.g. `ruleset ip`, `set ip vrouter_nat eip_stats`); undefined when missing. */
  list(what: string, terse: boolean): Promise<unknown[] | undefined>;
  close(): void;
}

const NFT_CTX_DEFAULT = 0;
const NFT_CTX_OUTPUT_JSON = 1 << 4;
const NFT_CTX_OUTPUT_NUMERIC_PROTO = 1 << 7;
const NFT_CTX_OUTPUT_TERSE = 1 << 11;
/** Listings give protocols as numbers (`nft -p`), as the renderers write them: 6, not "tcp". */
const LISTING = NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_NUMERIC_PROTO;

type NativeFunction = ReturnType<LibraryHandle['func']>;
type LibNftables = Record<
  | 'ctxNew'
  | 'ctxFree'
  | 'setOutputFlags'
  | 'bufferOutput'
  | 'bufferError'
  | 'outputBuffer'
  | 'errorBuffer'
  | 'runCmd',
  NativeFunction
>;

function loadLibrary(): LibNftables {
  const lib = koffi.load('libnftables.so.1');
  const ctx = koffi.pointer('nft_ctx', koffi.opaque());
  return {
    ctxNew: lib.func('nft_ctx_new', ctx, ['uint32_t']),
    ctxFree: lib.func('nft_ctx_free', 'void', [ctx]),
    setOutputFlags: lib.func('nft_ctx_output_set_flags', 'void', [ctx, 'uint32_t']),
    bufferOutput: lib.func('nft_ctx_buffer_output', 'int', [ctx]),
    bufferError: lib.func('nft_ctx_buffer_error', 'int', [ctx]),
    outputBuffer: lib.func('nft_ctx_get_output_buffer', 'const char *', [ctx]),
    errorBuffer: lib.func('nft_ctx_get_error_buffer', 'const char *', [ctx]),
    runCmd: lib.func('nft_run_cmd_from_buffer', 'int', [ctx, 'const char *']),
  };
}

/** In-process transport. Calls run on koffi's worker thread, one at a time, so a large load does not
 * stall the event loop (DHCP and DNS keep answering). */
export function libnftablesTransport(): NftTransport {
  const lib = loadLibrary();
  const ctx: unknown = lib.ctxNew(NFT_CTX_DEFAULT);
  if (ctx === null) throw new NftError('nft_ctx_new failed');
  lib.bufferOutput(ctx);
  lib.bufferError(ctx);
  let queue: Promise<unknown> = Promise.resolve();

  const call = (flags: number, text: string): Promise<string> => {
    const next = queue.then(
      () =>
        new Promise<string>((resolve, reject) => {
          lib.setOutputFlags(ctx, flags);
          lib.runCmd.async(ctx, text, (err: unknown, rc: number) => {
            if (err !== null && err !== undefined)
              return reject(err instanceof Error ? err : new NftError('libnftables call failed'));
            const output = String(lib.outputBuffer(ctx) ?? '');
            const error = String(lib.errorBuffer(ctx) ?? '');
            if (rc !== 0) reject(new NftError(error.trim() || `nft failed with ${rc}`));
            else resolve(output);
          });
        }),
    );
    queue = next.catch(() => undefined);
    return next;
  };

  return {
    async run(commands) {
      if (commands.length > 0) await call(NFT_CTX_OUTPUT_JSON, JSON.stringify({ nftables: commands }));
    },
    listTable(family, name, terse) {
      return this.list(`table ${family} ${name}`, terse);
    },
    async list(what, terse) {
      try {
        const flags = LISTING | (terse ? NFT_CTX_OUTPUT_TERSE : 0);
        return parseListing(await call(flags, `list ${what}`));
      } catch (e) {
        if (e instanceof NftError && /No such file or directory/.test(e.message)) return undefined;
        throw e;
      }
    },
    close() {
      lib.ctxFree(ctx);
    },
  };
}

/** Longest JSON document passed to `nft` as an argument (Linux caps one argument at 128 KiB). */
const MAX_ARGUMENT = 100_000;

/** Transport that starts `nft` for every call. */
export function execTransport(nft = 'nft'): NftTransport {
  const exec = (args: string[], input?: string) =>
    new Promise<string>((resolve, reject) => {
      const child = execFile(nft, args, { maxBuffer: 1 << 28 }, (err, stdout, stderr) => {
        if (err !== null) reject(new NftError(stderr.trim() || err.message));
        else resolve(stdout);
      });
      // nft may exit before reading all input (a syntax error): its exit status tells why, not EPIPE.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(input ?? '');
    });
  return {
    // nft reads `-f -` by opening /dev/stdin, which fails on the socket Node gives a child as stdin
    // (ENXIO): small documents go as an argument, large ones through a temporary file.
    async run(commands) {
      if (commands.length === 0) return;
      const text = JSON.stringify({ nftables: commands });
      if (text.length <= MAX_ARGUMENT) {
        await exec(['-j', text]);
        return;
      }
      const dir = await mkdtemp(join(tmpdir(), 'vrouterd-nft-'));
      try {
        await writeFile(join(dir, 'ruleset.json'), text);
        await exec(['-j', '-f', join(dir, 'ruleset.json')]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    listTable(family, name, terse) {
      return this.list(`table ${family} ${name}`, terse);
    },
    async list(what, terse) {
      try {
        return parseListing(await exec(['-j', '-p', ...(terse ? ['-t'] : []), 'list', ...what.split(' ')]));
      } catch (e) {
        if (e instanceof NftError && /No such file or directory/.test(e.message)) return undefined;
        throw e;
      }
    },
    close() {},
  };
}

function parseListing(output: string): unknown[] {
  const parsed = JSON.parse(output) as { nftables?: unknown[] };
  return parsed.nftables ?? [];
}
