// apply and patch: send a whole config or a list of operations from a file, then print the
// generation and how each step went.
import { fromJson, toJsonString } from '@bufbuild/protobuf';
import { RouterConfigSchema } from '../../gen/vrouter/v1/config_pb.js';
import {
  ApplyResponseSchema,
  PatchRequestSchema,
  PatchResponseSchema,
  type StepResult,
} from '../../gen/vrouter/v1/service_pb.js';
import { type Command, print } from '../command.js';
import { readDocument } from '../document.js';
import { outcomeName } from '../format.js';
import { table } from '../table.js';

export const apply: Command = async ({ client, options, json, expectedGeneration }) => {
  const config = fromJson(RouterConfigSchema, await readDocument(options.file));
  const response = await client.apply({
    config,
    validateOnly: options['validate-only'],
    ...(expectedGeneration !== undefined && { expectedGeneration }),
  });
  print(
    json ? toJsonString(ApplyResponseSchema, response) : describeWrite(response.generation, response.results),
  );
  return 0;
};

export const patch: Command = async ({ client, options, json, expectedGeneration }) => {
  const request = fromJson(PatchRequestSchema, await readDocument(options.file));
  if (expectedGeneration !== undefined) request.expectedGeneration = expectedGeneration;
  request.validateOnly ||= options['validate-only'];
  const response = await client.patch(request);
  print(
    json ? toJsonString(PatchResponseSchema, response) : describeWrite(response.generation, response.results),
  );
  return 0;
};

export function describeWrite(generation: bigint, results: readonly StepResult[]): string {
  const rows = results.map((r) => [
    r.step,
    outcomeName(r.outcome),
    `${(Number(r.durationUs) / 1000).toFixed(1)} ms`,
    r.message,
  ]);
  return `generation ${generation}\n${table(['STEP', 'OUTCOME', 'TIME', 'DETAIL'], rows)}`;
}
