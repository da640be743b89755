// show config: the config the router holds with its generation, as YAML (or proto3 JSON with --json).
import { fromJson, toJson } from '@bufbuild/protobuf';
import { stringify as toYaml } from 'yaml';
import { RouterConfigSchema } from '../../gen/vrouter/v1/config_pb.js';
import { type Command, print } from '../command.js';

export const showConfig: Command = async ({ client, json }) => {
  const response = await client.getConfig();
  const config = toJson(RouterConfigSchema, response.config ?? fromJson(RouterConfigSchema, {}));
  const document = { generation: response.generation.toString(), config };
  print(json ? JSON.stringify(document, null, 2) : toYaml(document).trimEnd());
  return 0;
};
