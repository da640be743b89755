// Messages between the main thread (DnsServer) and the DNS worker thread. Plain data only (they are
// structured-cloned).
import type { DnsPlan } from './render.js';

export type ToWorker =
  | { readonly kind: 'configure'; readonly id: number; readonly plan: DnsPlan; readonly reopen: boolean }
  | { readonly kind: 'status'; readonly id: number };

export type FromWorker =
  | {
      readonly kind: 'configured';
      readonly id: number;
      readonly error?: string;
      readonly listeners: ListenerState[];
    }
  | { readonly kind: 'status'; readonly id: number; readonly status: WorkerStatus }
  | {
      readonly kind: 'log';
      readonly level: 'info' | 'warn' | 'error';
      readonly message: string;
      readonly data: Record<string, unknown>;
    };

export interface ListenerState {
  readonly networkId: string;
  readonly address: string;
  readonly device: string;
  /** Both the UDP and the TCP socket are open. */
  readonly listening: boolean;
}

export interface UpstreamState {
  readonly label: string;
  readonly up: boolean;
  readonly queries: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
  readonly srttMs: number;
  /** Epoch ms; 0 if never. */
  readonly lastFailureAt: number;
  readonly lastError: string;
}

export interface WorkerStatus {
  readonly listeners: ListenerState[];
  readonly names: number;
  readonly cache: {
    readonly entries: number;
    readonly capacity: number;
    readonly hits: number;
    readonly misses: number;
    readonly evictions: number;
  };
  readonly upstreams: UpstreamState[];
}
