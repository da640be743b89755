// The example config (examples/lab.yaml) as a RouterConfig, the starting point of lab scenarios.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type JsonValue, fromJson } from '@bufbuild/protobuf';
import { parse } from 'yaml';
import { type RouterConfig, RouterConfigSchema } from '../../daemon/src/gen/vrouter/v1/config_pb.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const EXAMPLE_CONFIG = `${REPO_ROOT}examples/lab.yaml`;

export function labConfig(): RouterConfig {
  return fromJson(RouterConfigSchema, parse(readFileSync(EXAMPLE_CONFIG, 'utf8')) as JsonValue);
}
