// Throttled log lines: the first occurrence is written at once, later ones at most once an interval,
// each line counting what happened since the one before; topics are throttled apart.
import t from 'tap';
import { LogThrottle } from '../../daemon/src/services/dhcp/throttle.js';

t.test('one line per topic an interval, with the occurrences since the last line', async (t) => {
  let now = 1_000_000;
  const throttle = new LogThrottle(60_000, () => now);
  const lines: [string, number][] = [];
  const note = (topic: string) => throttle.note(topic, (n) => lines.push([topic, n]));

  note('pool:net-a');
  t.same(lines, [['pool:net-a', 1]], 'the first occurrence is written at once');
  for (let i = 0; i < 5; i++) note('pool:net-a');
  note('pool:net-b');
  t.same(lines, [
    ['pool:net-a', 1],
    ['pool:net-b', 1],
  ]);
  now += 59_999;
  note('pool:net-a');
  t.equal(lines.length, 2, 'not before the interval is over');
  now += 1;
  note('pool:net-a');
  t.same(lines.at(-1), ['pool:net-a', 7], 'the seven occurrences since the last line are counted');
});
