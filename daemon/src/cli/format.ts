// Formatting shared by several vrouterctl tables.
import { type Timestamp, timestampDate } from '@bufbuild/protobuf/wkt';
import { StepOutcome } from '../gen/vrouter/v1/service_pb.js';

export function outcomeName(outcome: StepOutcome): string {
  return StepOutcome[outcome];
}

export function time(t: Timestamp | undefined): string {
  return t === undefined ? '-' : timestampDate(t).toISOString();
}
