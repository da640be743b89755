// Validation of a whole RouterConfig: pure, complete (every problem, not the first), and the only gate
// between the API and rendering. Each section's rules live with its service; this file runs them in
// dependency order (sections that refer to NICs need the NICs checked first).
import type { RouterConfig } from '../gen/vrouter/v1/config_pb.js';
import { validateNics } from '../services/interfaces/validate.js';
import { validateNatCached } from '../services/nat/incremental.js';
import { validateDhcp } from '../services/dhcp/validate.js';
import { validateDhcpReplySize } from '../services/dhcp/reply-fit.js';
import { validateNetworks } from '../services/networks/validate.js';
import { validateDns } from '../services/dns/validate.js';
import { validateFirewall } from '../services/firewall/validate.js';
import { validateRoutes } from '../services/routes/validate.js';
import { isDnsLabel } from './net.js';
import { type FieldViolation, Violations } from './violations.js';

export function validateConfig(config: RouterConfig): FieldViolation[] {
  const v = new Violations();
  if (config.hostname !== '' && !isDnsLabel(config.hostname))
    v.add('hostname', `"${config.hostname}" is not a DNS label (letters, digits, -, at most 63)`);
  const nics = validateNics(config, v);
  const networks = validateNetworks(config, nics, v);
  validateDhcp(config, networks, v);
  validateDhcpReplySize(config, networks, v);
  validateDns(config, networks, v);
  validateFirewall(config, nics, v);
  validateNatCached(config, nics, networks, v);
  validateRoutes(config, nics, networks, v);
  return v.items;
}
