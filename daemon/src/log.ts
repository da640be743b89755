// Logs are JSON lines on stdout (pino); under systemd they go to the journal as they are.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'vrouterd' }, serializers: { generation: generationAsNumber } });
}

/**
 * Generations are uint64 (bigint); JSON.stringify throws on a bigint and pino then writes the line
 * again through its slow path (~15 µs more a line, one line per write). 2^53 writes are never reached.
 */
function generationAsNumber(generation: unknown): unknown {
  return typeof generation === 'bigint' ? Number(generation) : generation;
}
