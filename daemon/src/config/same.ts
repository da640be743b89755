// Whether two configs are equal, cheaply when one was derived from the other by a Patch: sections and
// objects a Patch left alone are the same objects (copy on write), so only the differing ones are
// compared, field by field and down into nested messages (a rule changed in a set of 9999 costs 9999
// pointer compares, not a deep comparison of the whole firewall: protobuf `equals` on such a config
// takes tens of milliseconds).
import { type DescMessage, equals } from '@bufbuild/protobuf';
import { type RouterConfig, RouterConfigSchema } from '../gen/vrouter/v1/config_pb.js';

export function sameConfig(a: RouterConfig, b: RouterConfig): boolean {
  return sameMessage(RouterConfigSchema, a, b);
}

function sameMessage(schema: DescMessage, a: object, b: object): boolean {
  if (a === b) return true;
  // A oneof is one property that no field names (its members are not properties): compare it whole.
  if (schema.oneofs.length > 0) return equals(schema, a as never, b as never);
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  for (const field of schema.fields) {
    const x = left[field.localName];
    const y = right[field.localName];
    if (x === y) continue;
    if (field.fieldKind === 'map') return equals(schema, a as never, b as never);
    switch (field.fieldKind) {
      case 'list':
        if (
          !sameList(field.listKind === 'message' ? field.message : undefined, x as unknown[], y as unknown[])
        )
          return false;
        break;
      case 'message':
        if (x === undefined || y === undefined || !sameMessage(field.message, x as object, y as object))
          return false;
        break;
      default:
        // Strings, numbers, booleans, enums and bigints are equal only if ===; bytes need a look.
        if (!(x instanceof Uint8Array && y instanceof Uint8Array && Buffer.from(x).equals(y))) return false;
    }
  }
  return true;
}

function sameList(schema: DescMessage | undefined, x: readonly unknown[], y: readonly unknown[]): boolean {
  return (
    x.length === y.length &&
    x.every(
      (item, i) =>
        item === y[i] || (schema !== undefined && sameMessage(schema, item as object, y[i] as object)),
    )
  );
}
