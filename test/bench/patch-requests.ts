// The two Patches the NAT benchmark's rounds send, whichever client sends them: put one EIP
// (`e-bench` on the given spare VIP) and delete it again.
import { create } from '@bufbuild/protobuf';
import { EipSchema } from '../../daemon/src/gen/vrouter/v1/nat_pb.js';
import {
  ObjectKind,
  type PatchRequest,
  PatchRequestSchema,
} from '../../daemon/src/gen/vrouter/v1/service_pb.js';

export function benchPatches(vipId: string): { readonly put: PatchRequest; readonly remove: PatchRequest } {
  const eip = create(EipSchema, { id: 'e-bench', vipId, privateIp: '10.1.250.250' });
  return {
    put: create(PatchRequestSchema, { operations: [{ operation: { case: 'putEip', value: eip } }] }),
    remove: create(PatchRequestSchema, {
      operations: [{ operation: { case: 'delete', value: { kind: ObjectKind.EIP, id: eip.id } } }],
    }),
  };
}
