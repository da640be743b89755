// Logs are JSON lines on stdout (pino); under systemd they go to the journal as they are.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'vrouterd' } });
}
