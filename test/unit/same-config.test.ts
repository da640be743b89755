// sameConfig against protobuf's own `equals`: on configs that share all but one path with the lab
// config (as a Patch leaves them), changed at one leaf or not at all, both must always agree.
import t from 'tap';
import fc from 'fast-check';
import { equals } from '@bufbuild/protobuf';
import { RouterConfigSchema, type RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import { sameConfig } from '../../daemon/src/config/same.js';
import { labConfig } from '../lab/lab-config.js';

type Path = (string | number)[];

/** Every path to a string, number or boolean inside `value` (the lab config has all kinds). */
function leaves(value: unknown, path: Path = []): Path[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => leaves(item, [...path, i]));
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([k, v]) => (k === '$typeName' ? [] : leaves(v, [...path, k])));
  return ['string', 'number', 'boolean'].includes(typeof value) ? [path] : [];
}

/** A copy sharing everything off `path`, with the leaf at its end replaced by `change(leaf)`. */
function copyAlong(value: unknown, path: Path, change: (leaf: unknown) => unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return change(value);
  if (Array.isArray(value)) {
    const copy = value.slice();
    copy[head as number] = copyAlong(value[head as number], rest, change);
    return copy;
  }
  const record = value as Record<string, unknown>;
  return { ...record, [head]: copyAlong(record[head], rest, change) };
}

function changed(leaf: unknown): unknown {
  if (typeof leaf === 'string') return `${leaf}x`;
  if (typeof leaf === 'number') return leaf + 1;
  return !leaf;
}

t.test('sameConfig agrees with protobuf equals on copy-on-write configs', async (t) => {
  const base = labConfig();
  const paths = leaves(base);
  t.ok(paths.length > 100, `the lab config has ${paths.length} leaves`);
  t.ok(
    paths.some((p) => p[0] === 'firewall' && p.includes('rules')),
    'among them the firewall rules, nested three messages deep',
  );
  fc.assert(
    fc.property(fc.nat(paths.length - 1), fc.boolean(), (i, change) => {
      const path = paths[i] ?? [];
      const other = copyAlong(base, path, change ? changed : (leaf) => leaf) as RouterConfig;
      return (
        sameConfig(base, other) === equals(RouterConfigSchema, base, other) &&
        sameConfig(base, other) !== change
      );
    }),
    { numRuns: 500 },
  );
  t.ok(sameConfig(base, labConfig()), 'two decodings of the same file are the same');
});
