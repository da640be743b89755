// The Patch rounds of the NAT benchmark, run in a process of their own so that the client's timings
// are not disturbed by the bench's garbage collector (it holds configs of 30k objects):
// `node patch-rounds.js SOCKET VIP_ID ROUNDS WARMUP` adds and removes one EIP WARMUP times unmeasured
// (a management plane's client and the daemon are long-lived: the first few hundred calls compile
// their code paths), then ROUNDS times, and prints the round trips in milliseconds as JSON
// `{adds, removes, first}`, `first` being the very first call (connection and compilation).
import { create } from '@bufbuild/protobuf';
import { RouterClient } from '../../daemon/src/cli/client.js';
import { EipSchema } from '../../daemon/src/gen/vrouter/v1/nat_pb.js';
import { ObjectKind } from '../../daemon/src/gen/vrouter/v1/service_pb.js';

const [socket = '', vipId = '', rounds = '100', warmup = '0'] = process.argv.slice(2);
const client = new RouterClient({ socket });
const eip = create(EipSchema, { id: 'e-bench', vipId, privateIp: '10.1.250.250' });
const ms = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e6;

async function round(): Promise<[number, number]> {
  let started = process.hrtime.bigint();
  await client.patch({ operations: [{ operation: { case: 'putEip', value: eip } }] });
  const add = ms(started);
  started = process.hrtime.bigint();
  await client.patch({
    operations: [{ operation: { case: 'delete', value: { kind: ObjectKind.EIP, id: 'e-bench' } } }],
  });
  return [add, ms(started)];
}

let first = Number.NaN;
for (let i = 0; i < Number(warmup); i++) {
  const [add] = await round();
  if (i === 0) first = add;
}
const adds: number[] = [];
const removes: number[] = [];
for (let i = 0; i < Number(rounds); i++) {
  const [add, remove] = await round();
  adds.push(add);
  removes.push(remove);
}
client.close();
process.stdout.write(JSON.stringify({ adds, removes, first }));
