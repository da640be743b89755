// The server's leases as the API shows them (ListDhcpLeases).
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { type DhcpLease, DhcpLeaseKind, DhcpLeaseSchema } from '../../gen/vrouter/v1/service_pb.js';
import { formatIpv4 } from '../../config/net.js';
import type { Lease } from './leases.js';

export function leaseMessage(lease: Lease): DhcpLease {
  return create(DhcpLeaseSchema, {
    networkId: lease.networkId,
    ip: formatIpv4(lease.ip),
    mac: lease.mac,
    clientId: lease.clientId,
    hostname: lease.hostname,
    kind: lease.hostId === '' ? DhcpLeaseKind.POOL : DhcpLeaseKind.HOST,
    expiresAt: timestampFromMs(lease.expiresAt),
    hostId: lease.hostId,
  });
}
