// google.rpc.Status in the `grpc-status-details-bin` trailer: how gRPC carries structured errors
// (BadRequest field violations, ErrorInfo) that any gRPC client can decode.
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { createRegistry, create, fromBinary, isMessage, toBinary } from '@bufbuild/protobuf';
import { anyPack, anyUnpack, type Any } from '@bufbuild/protobuf/wkt';
import {
  BadRequestSchema,
  type BadRequest_FieldViolation,
  ErrorInfoSchema,
} from '../gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../gen/google/rpc/status_pb.js';
import type { FieldViolation } from '../config/violations.js';

export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
export const ERROR_DOMAIN = 'vrouter.v1';

export interface ErrorDetails {
  readonly violations?: readonly FieldViolation[];
  readonly reason?: { readonly reason: string; readonly metadata: Readonly<Record<string, string>> };
}

export function grpcError(code: status, message: string, details: ErrorDetails = {}): Partial<ServiceError> {
  const packed: Any[] = [];
  if (details.violations !== undefined && details.violations.length > 0)
    packed.push(
      anyPack(
        BadRequestSchema,
        create(BadRequestSchema, {
          fieldViolations: details.violations.map(({ field, description }) => ({ field, description })),
        }),
      ),
    );
  if (details.reason !== undefined)
    packed.push(
      anyPack(ErrorInfoSchema, create(ErrorInfoSchema, { ...details.reason, domain: ERROR_DOMAIN })),
    );
  const metadata = new Metadata();
  if (packed.length > 0)
    metadata.set(
      STATUS_DETAILS_KEY,
      Buffer.from(toBinary(StatusSchema, create(StatusSchema, { code, message, details: packed }))),
    );
  return { code, details: message, metadata };
}

const registry = createRegistry(BadRequestSchema, ErrorInfoSchema);

/** Reads the details a server put in the trailer; empty when there are none. */
export function readErrorDetails(metadata: Metadata | undefined): {
  violations: BadRequest_FieldViolation[];
  reason?: string;
  info: Record<string, string>;
} {
  const result: { violations: BadRequest_FieldViolation[]; reason?: string; info: Record<string, string> } = {
    violations: [],
    info: {},
  };
  const raw = metadata?.get(STATUS_DETAILS_KEY)[0];
  if (!(raw instanceof Buffer)) return result;
  for (const any of fromBinary(StatusSchema, raw).details) {
    const detail = anyUnpack(any, registry);
    if (isMessage(detail, BadRequestSchema)) result.violations.push(...detail.fieldViolations);
    if (isMessage(detail, ErrorInfoSchema)) {
      result.reason = detail.reason;
      Object.assign(result.info, detail.metadata);
    }
  }
  return result;
}
