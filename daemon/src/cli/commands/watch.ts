// watch: stream the daemon's events (applied generations, failures, drift repaired) until Ctrl-C.
import { toJsonString } from '@bufbuild/protobuf';
import { type ServiceError, status } from '@grpc/grpc-js';
import { type WatchResponse, WatchResponseSchema } from '../../gen/vrouter/v1/service_pb.js';
import { type Command, print } from '../command.js';
import { outcomeName, time } from '../format.js';

export const watch: Command = async ({ client, json }) => {
  const { events, cancel } = client.watch(true);
  process.once('SIGINT', cancel);
  try {
    for await (const event of events)
      print(json ? toJsonString(WatchResponseSchema, event) : describeEvent(event));
  } catch (e) {
    if ((e as ServiceError).code !== status.CANCELLED) throw e;
  }
  return 0;
};

export function describeEvent(e: WatchResponse): string {
  const head = `${e.time ? time(e.time) : ''} generation ${e.generation}`;
  switch (e.event.case) {
    case 'generationApplied':
      return `${head} applied (${e.event.value.cause})${e.event.value.results.map((r) => ` ${r.step}=${outcomeName(r.outcome)}`).join('')}`;
    case 'applyFailed':
      return `${head} FAILED generation ${e.event.value.failedGeneration} at ${e.event.value.step}: ${e.event.value.message}`;
    case 'driftRepaired':
      return `${head} drift repaired by ${e.event.value.step}: ${e.event.value.findings.join('; ')}`;
    case 'serviceEvent':
      return `${head} ${e.event.value.service} ${e.event.value.severity}: ${e.event.value.message}`;
    case undefined:
      return `${head} (unknown event)`;
  }
}
