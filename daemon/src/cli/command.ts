// What every vrouterctl command gets, and how it answers: a table for people or JSON for scripts.
import { type DescMessage, type MessageShape, toJsonString } from '@bufbuild/protobuf';
import type { RouterClient } from './client.js';
import type { Options } from './options.js';

export interface CommandContext {
  readonly client: RouterClient;
  readonly options: Options;
  readonly json: boolean;
  /** --expected-generation, parsed before any command runs. */
  readonly expectedGeneration: bigint | undefined;
}

/** Runs one command; resolves with the exit code. */
export type Command = (context: CommandContext) => Promise<number>;

/** A mistake on the command line: reported with the usage text, exit code 2. */
export class UsageError extends Error {}

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Prints a response as indented proto3 JSON with --json, else as `describe` writes it. */
export function printMessage<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  json: boolean,
  describe: (message: MessageShape<Desc>) => string,
): void {
  print(json ? toJsonString(schema, message, { prettySpaces: 2 }) : describe(message));
}
