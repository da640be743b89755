// Why a write was refused or failed, in terms the API maps one to one onto gRPC status codes.
import type { FieldViolation } from '../config/violations.js';

export type WriteErrorCode = 'INVALID_ARGUMENT' | 'UNIMPLEMENTED' | 'FAILED_PRECONDITION' | 'ABORTED';

export class WriteError extends Error {
  override readonly name = 'WriteError';

  constructor(
    readonly code: WriteErrorCode,
    message: string,
    /** Field violations (INVALID_ARGUMENT, UNIMPLEMENTED). */
    readonly violations: readonly FieldViolation[] = [],
    /** Machine-readable reason and metadata (google.rpc.ErrorInfo). */
    readonly reason?: { readonly reason: string; readonly metadata: Readonly<Record<string, string>> },
  ) {
    super(message);
  }
}

export function summarizeViolations(violations: readonly FieldViolation[], limit = 5): string {
  const shown = violations.slice(0, limit).map((v) => `${v.field}: ${v.description}`);
  const more = violations.length > limit ? ` (and ${violations.length - limit} more)` : '';
  return shown.join('; ') + more;
}
