// Network A's DHCP settings as the DHCP unit tests and lab scenarios use them: every option the server
// hands out set to something a client can be checked against.
import { create } from '@bufbuild/protobuf';
import { type DhcpSettings, DhcpSettingsSchema } from '../../daemon/src/gen/vrouter/v1/networks_pb.js';

export function networkADhcp(pool: { start: string; end: string }): DhcpSettings {
  return create(DhcpSettingsSchema, {
    enabled: true,
    leaseTimeSeconds: 3600,
    dnsServers: ['10.1.0.53'],
    ntpServers: ['10.1.0.123'],
    domainSearch: ['a.lab.internal', 'lab.internal'],
    mtu: 1400,
    classlessRoutes: [{ destination: '192.168.50.0/24', nextHop: '10.1.0.254' }],
    pools: [pool],
  });
}
