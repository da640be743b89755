// Whether two configs are equal, cheaply when one was derived from the other by a Patch: sections and
// objects a Patch left alone are the same objects (copy on write), so only the differing ones are
// compared field by field. A one-object Patch on 30k objects costs pointer compares, not a deep
// comparison of everything (protobuf `equals` on such a config takes tens of milliseconds).
import { type DescMessage, equals } from '@bufbuild/protobuf';
import { type RouterConfig, RouterConfigSchema } from '../gen/vrouter/v1/config_pb.js';

export function sameConfig(a: RouterConfig, b: RouterConfig): boolean {
  if (a === b) return true;
  const left = a as unknown as Record<string, unknown>;
  const right = b as unknown as Record<string, unknown>;
  for (const field of RouterConfigSchema.fields) {
    const x = left[field.localName];
    const y = right[field.localName];
    if (x === y) continue;
    switch (field.fieldKind) {
      case 'list':
        if (field.listKind !== 'message' || !sameList(field.message, x as object[], y as object[]))
          return false;
        break;
      case 'message':
        if (x === undefined || y === undefined || !equals(field.message, x as never, y as never))
          return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function sameList(schema: DescMessage, x: readonly object[], y: readonly object[]): boolean {
  return (
    x.length === y.length &&
    x.every((item, i) => item === y[i] || equals(schema, item as never, y[i] as never))
  );
}
