// How vrouterctl reports a failed call: the gRPC status, then the field violations and the reason
// the daemon attached, so an operator sees every bad field at once.
import { type ServiceError, status } from '@grpc/grpc-js';
import { readErrorDetails } from '../api/status-details.js';

export function reportFailure(e: unknown): void {
  const err = e as Partial<ServiceError>;
  if (typeof err.code === 'number') {
    const details = readErrorDetails(err.metadata);
    process.stderr.write(`vrouterctl: ${status[err.code]}: ${err.details ?? ''}\n`);
    for (const v of details.violations) process.stderr.write(`  ${v.field}: ${v.description}\n`);
    if (details.reason !== undefined)
      process.stderr.write(
        `  reason ${details.reason}${Object.entries(details.info)
          .map(([k, v]) => ` ${k}=${v}`)
          .join('')}\n`,
      );
  } else process.stderr.write(`vrouterctl: ${e instanceof Error ? e.message : String(e)}\n`);
}
