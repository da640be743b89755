// Gratuitous ARP through a packet socket (AF_PACKET, SOCK_DGRAM) opened with koffi: announcing an
// address costs two sendto() calls in process. `arping` would cost a process start per address, and
// a full Apply may add thousands of VIPs. The socket is opened with protocol 0, so it receives nothing.
import koffi from 'koffi';

const AF_PACKET = 17;
const SOCK_DGRAM = 2;
const ETH_P_ARP = 0x0806;
const BROADCAST = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

interface Libc {
  socket: (domain: number, type: number, protocol: number) => number;
  sendto: (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number) => number;
  close: (fd: number) => number;
}

let libc: Libc | undefined;

function load(): Libc {
  const lib = koffi.load('libc.so.6');
  return {
    socket: lib.func('int socket(int, int, int)') as Libc['socket'],
    sendto: lib.func(
      'long sendto(int, const uint8_t *, size_t, int, const uint8_t *, uint32_t)',
    ) as Libc['sendto'],
    close: lib.func('int close(int)') as Libc['close'],
  };
}

export class GratuitousArp {
  private fd = -1;

  /** Announces `ip` as held by `mac` on link `index`: an ARP request and an ARP reply, both broadcast. */
  announce(index: number, mac: string, ip: string): void {
    libc ??= load();
    if (this.fd < 0) {
      this.fd = libc.socket(AF_PACKET, SOCK_DGRAM, 0);
      if (this.fd < 0) throw new Error(`packet socket: errno ${koffi.errno()}`);
    }
    const hw = Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
    const address = Buffer.from(ip.split('.').map(Number));
    const to = Buffer.alloc(20);
    to.writeUInt16LE(AF_PACKET, 0);
    to.writeUInt16BE(ETH_P_ARP, 2);
    to.writeInt32LE(index, 4);
    to.writeUInt8(6, 11);
    BROADCAST.copy(to, 12);
    for (const [operation, target] of [
      [1, Buffer.alloc(6)],
      [2, BROADCAST],
    ] as const) {
      const packet = Buffer.concat([
        Buffer.from([0, 1, 8, 0, 6, 4, 0, operation]),
        hw,
        address,
        target,
        address,
      ]);
      if (libc.sendto(this.fd, packet, packet.length, 0, to, to.length) < 0)
        throw new Error(`gratuitous ARP for ${ip}: errno ${koffi.errno()}`);
    }
  }

  close(): void {
    if (this.fd >= 0) libc?.close(this.fd);
    this.fd = -1;
  }
}
