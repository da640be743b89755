// Command-line flags of vrouterd.
import { parseArgs } from 'node:util';

export interface DaemonArgs {
  readonly stateDir: string;
  readonly controlSocket: string;
  readonly listen: string | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  readonly tlsCa: string | undefined;
  readonly insecure: boolean;
  readonly driftIntervalSeconds: number;
  readonly nicWaitSeconds: number;
  readonly logLevel: string;
  readonly nftBackend: 'lib' | 'exec';
  /** Element-only changes straight over netlink, or through the backend like everything else. */
  readonly nftElements: 'netlink' | 'backend';
}

export const USAGE = `usage: vrouterd [options]

  --state-dir DIR          last good config and leases (default /var/lib/vrouterd)
  --control-socket PATH    unix socket for vrouterctl (default /run/vrouterd/control.sock)
  --listen HOST:PORT       management API address, e.g. the management NIC's 10.0.0.5:7800
  --tls-cert FILE          server certificate (PEM) } all three: mutual TLS; clients must present
  --tls-key FILE           server private key (PEM) } a certificate signed by the CA
  --tls-ca FILE            CA for client certificates (PEM)
  --insecure               plaintext on --listen (a lab only; never on a real network)
  --drift-interval SECONDS check that the kernel holds the applied state this often (default 30, 0 = off)
  --nic-wait SECONDS       how long a write waits for a hot-plugged NIC to appear (default 10)
  --nft-backend lib|exec   libnftables in process (default) or the nft command
  --nft-elements netlink|backend
                           set elements changed and read over netlink (default), or through the backend
  --log-level LEVEL        trace, debug, info (default), warn, error
  --version, --help`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseDaemonArgs(argv: readonly string[]): DaemonArgs | 'help' | 'version' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      'state-dir': { type: 'string', default: '/var/lib/vrouterd' },
      'control-socket': { type: 'string', default: '/run/vrouterd/control.sock' },
      listen: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      insecure: { type: 'boolean', default: false },
      'drift-interval': { type: 'string', default: '30' },
      'nic-wait': { type: 'string', default: '10' },
      'nft-backend': { type: 'string', default: 'lib' },
      'nft-elements': { type: 'string', default: 'netlink' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', default: false },
      version: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  if (values.version) return 'version';
  const tls = [values['tls-cert'], values['tls-key'], values['tls-ca']];
  const given = tls.filter((t) => t !== undefined).length;
  if (given !== 0 && given !== 3)
    throw new UsageError('--tls-cert, --tls-key and --tls-ca go together (mutual TLS)');
  if (values.listen !== undefined && given === 0 && !values.insecure)
    throw new UsageError('--listen needs --tls-cert/--tls-key/--tls-ca, or --insecure for a plaintext lab');
  if (values.insecure && given === 3) throw new UsageError('--insecure and TLS files contradict each other');
  if (values.listen !== undefined && !/^.+:\d+$/.test(values.listen))
    throw new UsageError(`--listen ${values.listen}: expected HOST:PORT`);
  const backend = values['nft-backend'];
  if (backend !== 'lib' && backend !== 'exec')
    throw new UsageError(`--nft-backend ${backend}: expected lib or exec`);
  const elements = values['nft-elements'];
  if (elements !== 'netlink' && elements !== 'backend')
    throw new UsageError(`--nft-elements ${elements}: expected netlink or backend`);
  return {
    stateDir: values['state-dir'],
    controlSocket: values['control-socket'],
    listen: values.listen,
    tlsCert: values['tls-cert'],
    tlsKey: values['tls-key'],
    tlsCa: values['tls-ca'],
    insecure: values.insecure,
    driftIntervalSeconds: seconds('--drift-interval', values['drift-interval']),
    nicWaitSeconds: seconds('--nic-wait', values['nic-wait']),
    logLevel: values['log-level'],
    nftBackend: backend,
    nftElements: elements,
  };
}

function seconds(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} ${text}: expected a whole number of seconds`);
  return Number(text);
}
