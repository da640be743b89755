import t from 'tap';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import {
  canonicalCidr,
  formatIpv4,
  isDnsLabel,
  isDomainName,
  isNetworkOrBroadcast,
  normalizeMac,
  parseIpv4,
  parseIpv4Prefix,
  prefixContains,
  prefixesOverlap,
} from '../../daemon/src/config/net.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });

t.test('IPv4 parse and format round-trip every address', async (t) => {
  fc.assert(fc.property(u32, (n) => parseIpv4(formatIpv4(n)) === n));
  t.equal(parseIpv4('10.1.0.255'), 0x0a0100ff);
});

t.test('IPv4 parsing is strict', async (t) => {
  for (const bad of [
    '',
    '10.1.0',
    '10.1.0.256',
    '1.2.3.4.5',
    '010.1.1.1',
    ' 1.2.3.4',
    '1.2.3.4/24',
    '0x0a.1.1.1',
    '1..2.3',
  ])
    t.equal(parseIpv4(bad), undefined, bad);
  fc.assert(
    fc.property(fc.string(), (s) => {
      const n = parseIpv4(s);
      return n === undefined || formatIpv4(n) === s;
    }),
  );
});

t.test('IPv4 parsing agrees with ipaddr.js on strings of digits and dots', async () => {
  const nearly = fc.string({ unit: fc.constantFrom('0', '1', '2', '5', '6', '9', '.'), maxLength: 16 });
  fc.assert(
    fc.property(nearly, (s) => {
      const n = parseIpv4(s);
      const valid = ipaddr.IPv4.isValidFourPartDecimal(s);
      return valid
        ? n ===
            ipaddr.IPv4.parse(s)
              .toByteArray()
              .reduce((v, b) => v * 256 + b, 0)
        : n === undefined;
    }),
    { numRuns: 20_000 },
  );
});

t.test('prefixes: containment and overlap agree with arithmetic', async (t) => {
  const prefix = fc.integer({ min: 0, max: 32 });
  fc.assert(
    fc.property(u32, prefix, u32, (a, p, b) => {
      const parsed = parseIpv4Prefix(`${formatIpv4(a)}/${p}`);
      if (parsed === undefined) return false;
      const size = 2 ** (32 - p);
      const inside = b >= parsed.network && b < parsed.network + size;
      return prefixContains(parsed, b) === inside;
    }),
  );
  fc.assert(
    fc.property(u32, prefix, u32, prefix, (a, p, b, q) => {
      const x = parseIpv4Prefix(`${formatIpv4(a)}/${p}`);
      const y = parseIpv4Prefix(`${formatIpv4(b)}/${q}`);
      if (x === undefined || y === undefined) return false;
      const overlap = prefixContains(x, y.network) || prefixContains(y, x.network);
      return prefixesOverlap(x, y) === overlap;
    }),
  );
  t.same(parseIpv4Prefix('10.1.0.7/24'), { address: 0x0a010007, prefix: 24, network: 0x0a010000 });
  for (const bad of ['10.1.0.0', '10.1.0.0/33', '10.1.0.0/', '10.1.0.0/024', '/24'])
    t.equal(parseIpv4Prefix(bad), undefined, bad);
});

t.test('network and broadcast addresses are special below /31 only', async (t) => {
  const p24 = parseIpv4Prefix('10.1.0.0/24');
  const p31 = parseIpv4Prefix('10.1.0.0/31');
  if (p24 === undefined || p31 === undefined) throw new Error('parse');
  t.ok(isNetworkOrBroadcast(p24, parseIpv4('10.1.0.0') ?? 0));
  t.ok(isNetworkOrBroadcast(p24, parseIpv4('10.1.0.255') ?? 0));
  t.notOk(isNetworkOrBroadcast(p24, parseIpv4('10.1.0.1') ?? 0));
  t.notOk(isNetworkOrBroadcast(p31, parseIpv4('10.1.0.0') ?? 0));
});

t.test('MACs are normalized to lower case with colons', async (t) => {
  t.equal(normalizeMac('52-54-00-AB-cd-01'), '52:54:00:ab:cd:01');
  t.equal(normalizeMac('52:54:00:ab:cd:01'), '52:54:00:ab:cd:01');
  for (const bad of ['52:54:00:ab:cd', '52:54-00:ab:cd:01', '5254.00ab.cd01', 'zz:54:00:ab:cd:01'])
    t.equal(normalizeMac(bad), undefined, bad);
});

t.test('DNS labels and domain names', async (t) => {
  t.ok(isDnsLabel('vm-1'));
  t.ok(isDnsLabel('a'.repeat(63)));
  for (const bad of ['', '-vm', 'vm-', 'a'.repeat(64), 'vm_1', 'vm.1']) t.notOk(isDnsLabel(bad), bad);
  t.ok(isDomainName('a.lab.internal'));
  t.notOk(isDomainName('a..internal'));
  t.notOk(isDomainName('a.lab.internal.'));
});

t.test('IPv6 addresses are written the way the kernel prints them', async (t) => {
  t.equal(canonicalCidr('FD00:0001:0000::0001/64'), 'fd00:1::1/64');
  t.equal(canonicalCidr('10.1.0.1/24'), '10.1.0.1/24');
});

t.test('an IPv4 address with prefix is spelled as ipaddr.js spells it', async () => {
  const cidr = fc
    .tuple(
      fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }),
      fc.integer({ min: 0, max: 32 }),
    )
    .map(([octets, prefix]) => `${octets.join('.')}/${prefix}`);
  fc.assert(
    fc.property(cidr, (text) => {
      const [address, prefix] = ipaddr.parseCIDR(text);
      return canonicalCidr(text) === `${address.toString()}/${prefix}`;
    }),
  );
});
