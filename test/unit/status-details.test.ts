import t from 'tap';
import { status } from '@grpc/grpc-js';
import { grpcError, readErrorDetails } from '../../daemon/src/api/status-details.js';

t.test('field violations and error info survive the trailer round trip', async (t) => {
  const error = grpcError(status.INVALID_ARGUMENT, 'bad', {
    violations: [{ field: 'networks[1].hosts[3].ip', description: '10.9.0.5 is outside 10.1.0.0/24' }],
    reason: { reason: 'APPLY_FAILED', metadata: { step: 'nftables' } },
  });
  t.equal(error.code, status.INVALID_ARGUMENT);
  const details = readErrorDetails(error.metadata);
  t.same(
    details.violations.map((v) => [v.field, v.description]),
    [['networks[1].hosts[3].ip', '10.9.0.5 is outside 10.1.0.0/24']],
  );
  t.equal(details.reason, 'APPLY_FAILED');
  t.same(details.info, { step: 'nftables' });
});

t.test('no details, no trailer', async (t) => {
  const error = grpcError(status.INTERNAL, 'oops');
  t.same(readErrorDetails(error.metadata), { violations: [], info: {} });
});
