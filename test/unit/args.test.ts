import t from 'tap';
import { UsageError, parseDaemonArgs } from '../../daemon/src/args.js';

t.test('defaults: console socket only, drift every 30 s', async (t) => {
  t.match(parseDaemonArgs([]), {
    listen: undefined,
    insecure: false,
    driftIntervalSeconds: 30,
    stateDir: '/var/lib/vrouterd',
    nftBackend: 'lib',
    nftElements: 'netlink',
  });
});

t.test('a TCP listener needs mTLS or an explicit --insecure', async (t) => {
  t.throws(() => parseDaemonArgs(['--listen', '10.0.0.5:7800']), UsageError);
  t.throws(
    () => parseDaemonArgs(['--listen', '10.0.0.5:7800', '--tls-cert', 'c', '--tls-key', 'k']),
    /go together/,
  );
  t.throws(
    () =>
      parseDaemonArgs([
        '--listen',
        '10.0.0.5:7800',
        '--insecure',
        '--tls-cert',
        'c',
        '--tls-key',
        'k',
        '--tls-ca',
        'a',
      ]),
    /contradict/,
  );
  t.throws(() => parseDaemonArgs(['--listen', 'nowhere', '--insecure']), /HOST:PORT/);
  t.match(
    parseDaemonArgs(['--listen', '10.0.0.5:7800', '--tls-cert', 'c', '--tls-key', 'k', '--tls-ca', 'a']),
    { tlsCa: 'a' },
  );
  t.match(parseDaemonArgs(['--listen', '10.0.0.5:7800', '--insecure']), { insecure: true });
});

t.test('bad numbers and backends are usage errors', async (t) => {
  t.throws(() => parseDaemonArgs(['--drift-interval', 'soon']), /whole number/);
  t.throws(() => parseDaemonArgs(['--nft-backend', 'iptables']), /lib or exec/);
  t.throws(() => parseDaemonArgs(['--nft-elements', 'json']), /netlink or backend/);
  t.throws(() => parseDaemonArgs(['--bogus']));
});
