// vrouterctl's command line: every option any command takes, parsed strictly (an unknown option is a
// usage error).
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

const OPTIONS = {
  socket: { type: 'string' },
  server: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  file: { type: 'string', short: 'f' },
  'expected-generation': { type: 'string' },
  'validate-only': { type: 'boolean', default: false },
  network: { type: 'string' },
  json: { type: 'boolean', default: false },
  nic: { type: 'string' },
  direction: { type: 'string' },
  protocol: { type: 'string' },
  source: { type: 'string' },
  destination: { type: 'string' },
  sport: { type: 'string' },
  dport: { type: 'string' },
  'icmp-type': { type: 'string' },
  'icmp-code': { type: 'string' },
  state: { type: 'string' },
  dnat: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsOptionsConfig;

export function parseCommandLine(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
}

export type Options = ReturnType<typeof parseCommandLine>['values'];
