# The NAT benchmark's Patch rounds from a gRPC C-core client (Debian's python3-grpcio), the kind of
# client a Python or C++ management plane uses, beside the Node one (patch-rounds.ts, whose header
# says what the rounds are). No generated Python code: the bench encodes the two PatchRequests with
# the daemon's own schema and passes them in hex; this sends them as they are. Prints JSON
# `{adds, removes, first, heldBefore, heldAfter}`, the last two (unchanged mode) being the hex of the
# PatchResponses to the first and last put, for the bench to check that the generation did not move.
# usage: patch-rounds.py SOCKET PUT_HEX REMOVE_HEX ROUNDS WARMUP change|unchanged
import json
import sys
import time

import grpc

socket, put_hex, remove_hex, rounds, warmup, mode = sys.argv[1:7]
put, remove = bytes.fromhex(put_hex), bytes.fromhex(remove_hex)
unchanged = mode == "unchanged"
channel = grpc.insecure_channel("unix:" + socket)
patch = channel.unary_unary("/vrouter.v1.RouterService/Patch")  # bytes in, bytes out


def timed(request):
    started = time.perf_counter_ns()
    patch(request, timeout=60)
    return (time.perf_counter_ns() - started) / 1e6


held_before = patch(put, timeout=60).hex() if unchanged else ""
first = None
for i in range(int(warmup)):
    add = timed(put)
    timed(put if unchanged else remove)
    if i == 0:
        first = add
adds, removes = [], []
for _ in range(int(rounds)):
    adds.append(timed(put))
    removes.append(timed(put if unchanged else remove))
held_after = patch(put, timeout=60).hex() if unchanged else ""
if unchanged:
    patch(remove, timeout=60)
channel.close()
print(json.dumps({"adds": adds, "removes": removes, "first": first, "heldBefore": held_before, "heldAfter": held_after}))
