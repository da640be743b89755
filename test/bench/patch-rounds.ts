// The Patch rounds of the NAT benchmark, run in a process of their own so that the client's timings
// are not disturbed by the bench's garbage collector (it holds configs of 30k objects):
// `node patch-rounds.js SOCKET VIP_ID ROUNDS WARMUP [unchanged]` adds and removes one EIP WARMUP times
// unmeasured (a management plane's client and the daemon are long-lived: the first few hundred calls
// compile their code paths), then ROUNDS times, and prints the round trips in milliseconds as JSON
// `{adds, removes, first}`, `first` being the very first call (connection and compilation). With
// `unchanged`, the EIP is put once beforehand and each call puts it again: a Patch that changes
// nothing (gRPC, queue, build, validate; no kernel, no disk), the floor under every Patch; `adds` and
// `removes` then both hold such calls, `first` is the first of them, not the connection's, and
// `heldBefore`/`heldAfter` are the hex of the PatchResponses to a put before and after the rounds, for
// the bench to check that none of them made a new generation (as it does for patch-rounds.py).
import { toBinary } from '@bufbuild/protobuf';
import { RouterClient } from '../../daemon/src/cli/client.js';
import { type PatchResponse, PatchResponseSchema } from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import { benchPatches } from './patch-requests.js';

const [socket = '', vipId = '', rounds = '100', warmup = '0', mode = 'change'] = process.argv.slice(2);
const client = new RouterClient({ socket });
const patches = benchPatches(vipId);
const ms = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e6;

const put = () => client.patch(patches.put);
const remove = () => client.patch(patches.remove);
const unchanged = mode === 'unchanged';

async function round(): Promise<[number, number]> {
  let started = process.hrtime.bigint();
  await put();
  const add = ms(started);
  started = process.hrtime.bigint();
  await (unchanged ? put() : remove());
  return [add, ms(started)];
}

const hex = (response: PatchResponse) => Buffer.from(toBinary(PatchResponseSchema, response)).toString('hex');
const heldBefore = unchanged ? hex(await put()) : '';

let first = Number.NaN;
for (let i = 0; i < Number(warmup); i++) {
  const [add] = await round();
  if (i === 0) first = add;
}
const adds: number[] = [];
const removes: number[] = [];
for (let i = 0; i < Number(rounds); i++) {
  const [firstCall, secondCall] = await round();
  adds.push(firstCall);
  removes.push(secondCall);
}
const heldAfter = unchanged ? hex(await put()) : '';
if (unchanged) await remove();
client.close();
process.stdout.write(JSON.stringify({ adds, removes, first, heldBefore, heldAfter }));
