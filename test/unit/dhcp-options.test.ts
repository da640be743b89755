// Option values in the wire formats clients parse: the examples of RFC 3397 and RFC 3442 byte for byte.
import t from 'tap';
import fc from 'fast-check';
import {
  encodeClasslessRoutes,
  encodeDomainSearch,
  readAddress,
  readHostname,
  readUint16,
} from '../../daemon/src/services/dhcp/option-values.js';
import { ip } from './dhcp-fixtures.js';

const text = (s: string) => [...new TextEncoder().encode(s)];

t.test('domain search: the RFC 3397 example, with its compression pointer', async (t) => {
  t.same(
    [...encodeDomainSearch(['eng.apple.com', 'marketing.apple.com'])],
    [3, ...text('eng'), 5, ...text('apple'), 3, ...text('com'), 0, 9, ...text('marketing'), 0xc0, 4],
  );
});

t.test('domain search: a repeated name is one pointer; suffixes match case-insensitively', async (t) => {
  t.same([...encodeDomainSearch(['a.lab', 'A.LAB'])], [1, ...text('a'), 3, ...text('lab'), 0, 0xc0, 0]);
  t.same([...encodeDomainSearch(['lab', 'x.lab'])], [3, ...text('lab'), 0, 1, ...text('x'), 0xc0, 0]);
});

t.test('domain search: every name decodes back from the encoding', async (t) => {
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
  const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
  fc.assert(
    fc.property(fc.array(domain, { minLength: 1, maxLength: 40 }), (domains) => {
      const wire = encodeDomainSearch(domains);
      return JSON.stringify(decodeNames(wire)) === JSON.stringify(domains);
    }),
  );
  t.pass('round trip');
});

/** RFC 1035 names one after another, following pointers (a reference decoder for the test). */
function decodeNames(wire: Uint8Array): string[] {
  const names: string[] = [];
  let at = 0;
  while (at < wire.length) {
    const labels: string[] = [];
    let i = at;
    let end: number | undefined;
    for (let hops = 0; hops < 100; hops++) {
      const length = wire[i] ?? 0;
      if (length === 0) {
        end ??= i + 1;
        break;
      }
      if (length >= 0xc0) {
        end ??= i + 2;
        i = ((length & 0x3f) << 8) | (wire[i + 1] ?? 0);
        continue;
      }
      labels.push(String.fromCharCode(...wire.subarray(i + 1, i + 1 + length)));
      i += 1 + length;
    }
    names.push(labels.join('.'));
    at = end ?? wire.length;
  }
  return names;
}

t.test('classless routes: the RFC 3442 examples', async (t) => {
  const route = (cidr: string, hop: string) => {
    const [address = '', prefix = '0'] = cidr.split('/');
    return { network: ip(address), prefix: Number(prefix), nextHop: ip(hop) };
  };
  const hop = [10, 1, 0, 254];
  t.same([...encodeClasslessRoutes([route('0.0.0.0/0', '10.1.0.254')])], [0, ...hop]);
  t.same([...encodeClasslessRoutes([route('10.0.0.0/8', '10.1.0.254')])], [8, 10, ...hop]);
  t.same([...encodeClasslessRoutes([route('10.17.0.0/16', '10.1.0.254')])], [16, 10, 17, ...hop]);
  t.same([...encodeClasslessRoutes([route('10.229.0.128/25', '10.1.0.254')])], [25, 10, 229, 0, 128, ...hop]);
  t.same(
    [...encodeClasslessRoutes([route('10.198.122.47/32', '10.1.0.254')])],
    [32, 10, 198, 122, 47, ...hop],
  );
  t.same(
    [...encodeClasslessRoutes([route('192.168.50.0/24', '10.1.0.254'), route('0.0.0.0/0', '10.1.0.1')])],
    [24, 192, 168, 50, ...hop, 0, 10, 1, 0, 1],
  );
});

t.test('values read from clients: exact lengths only, host names that are DNS labels', async (t) => {
  t.equal(readAddress(Uint8Array.of(10, 1, 0, 200)), ip('10.1.0.200'));
  t.equal(readAddress(Uint8Array.of(255, 255, 255, 255)), 0xffffffff);
  t.equal(readAddress(Uint8Array.of(10, 1, 0)), undefined);
  t.equal(readAddress(undefined), undefined);
  t.equal(readUint16(Uint8Array.of(5, 220)), 1500);
  t.equal(readUint16(Uint8Array.of(5)), undefined);
  t.equal(readHostname(Uint8Array.from(text('web-1'))), 'web-1');
  t.equal(readHostname(Uint8Array.from(text('bad name;rm'))), '');
  t.equal(readHostname(new Uint8Array(64).fill(97)), '');
});
