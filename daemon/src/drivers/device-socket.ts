// UDP sockets bound to one network device, for servers that must answer a broadcast out of the NIC it
// came in on (DHCP). The socket is made with libc through koffi and configured before it is bound —
// SO_REUSEADDR (one per NIC on the same port), SO_BINDTODEVICE, SO_BROADCAST, a larger receive buffer
// for bursts — then handed to node:dgram, so no packet of another NIC can reach it in between (as it
// could if SO_BINDTODEVICE were set after dgram's own bind).
//
// setNeighbour puts a client's MAC in the kernel's ARP table (SIOCSARP, as dnsmasq does) so a reply
// can be unicast to an address the client has been offered but cannot answer ARP for yet.
import dgram from 'node:dgram';
import koffi, { type LibraryHandle } from 'koffi';

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_BROADCAST = 6;
const SO_BINDTODEVICE = 25;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const SIOCSARP = 0x8955;
const ARPHRD_ETHER = 1;
const ATF_COM = 0x02;
const IFNAMSIZ = 16;
const RECEIVE_BUFFER = 4 << 20;

type NativeFunction = ReturnType<LibraryHandle['func']>;
interface Libc {
  socket: NativeFunction;
  setsockopt: NativeFunction;
  bind: NativeFunction;
  ioctl: NativeFunction;
  close: NativeFunction;
  strerror: NativeFunction;
}

let libc: Libc | undefined;
function load(): Libc {
  if (libc !== undefined) return libc;
  const lib = koffi.load('libc.so.6');
  libc = {
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, void *value, uint32_t length)'),
    bind: lib.func('int bind(int fd, void *address, uint32_t length)'),
    ioctl: lib.func('int ioctl(int fd, unsigned long request, ...)'),
    close: lib.func('int close(int fd)'),
    strerror: lib.func('const char *strerror(int errnum)'),
  };
  return libc;
}

function failure(what: string): Error {
  const errno = koffi.errno();
  return new Error(`${what}: ${String(load().strerror(errno))}`);
}

export interface DeviceSocketHandlers {
  /** A datagram; `bytes` is only valid during the call. */
  message(bytes: Buffer, from: { address: string; port: number }): void;
  error(err: Error): void;
}

export class DeviceSocket {
  private closedFlag = false;

  private constructor(
    readonly device: string,
    private readonly fd: number,
    private readonly socket: dgram.Socket,
  ) {}

  /** Binds 0.0.0.0:`port` on `device`; throws naming the step that failed (ENODEV for a missing link). */
  static open(device: string, port: number, handlers: DeviceSocketHandlers): DeviceSocket {
    const c = load();
    const fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) as number;
    if (fd < 0) throw failure('socket');
    try {
      setInt(fd, SO_REUSEADDR, 1, 'SO_REUSEADDR');
      setInt(fd, SO_BROADCAST, 1, 'SO_BROADCAST');
      // Room for bursts beyond net.core.rmem_max needs CAP_NET_ADMIN; without it, what the kernel allows.
      if (!trySetInt(fd, SO_RCVBUFFORCE, RECEIVE_BUFFER)) trySetInt(fd, SO_RCVBUF, RECEIVE_BUFFER);
      const name = Buffer.alloc(IFNAMSIZ);
      name.write(device, 'latin1');
      if ((c.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, device.length + 1) as number) !== 0)
        throw failure(`SO_BINDTODEVICE ${device}`);
      const address = Buffer.alloc(16);
      address.writeUInt16LE(AF_INET, 0);
      address.writeUInt16BE(port, 2);
      if ((c.bind(fd, address, address.length) as number) !== 0)
        throw failure(`bind 0.0.0.0:${port} on ${device}`);
    } catch (e) {
      c.close(fd);
      throw e;
    }
    const socket = dgram.createSocket({ type: 'udp4' });
    const opened = new DeviceSocket(device, fd, socket);
    socket.on('message', (bytes, rinfo) => handlers.message(bytes, rinfo));
    socket.on('error', (err) => handlers.error(err));
    socket.on('close', () => (opened.closedFlag = true));
    socket.bind({ fd });
    return opened;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Sends without waiting; a failure comes to the `error` handler. */
  send(bytes: Uint8Array, address: string, port: number): void {
    this.socket.send(bytes, port, address);
  }

  /** Tells the kernel `ip` is at `mac` on this device; true, or why the kernel refused. */
  setNeighbour(ip: number, mac: Uint8Array): true | string {
    const request = Buffer.alloc(68);
    request.writeUInt16LE(AF_INET, 0);
    request.writeUInt32BE(ip, 4);
    request.writeUInt16LE(ARPHRD_ETHER, 16);
    request.set(mac.subarray(0, 14), 18);
    request.writeInt32LE(ATF_COM, 32);
    request.write(this.device, 52, IFNAMSIZ - 1, 'latin1');
    if ((load().ioctl(this.fd, SIOCSARP, 'void *', request) as number) === 0) return true;
    return failure('SIOCSARP').message;
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.socket.close();
  }
}

function trySetInt(fd: number, option: number, value: number): boolean {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32LE(value, 0);
  return (load().setsockopt(fd, SOL_SOCKET, option, buffer, 4) as number) === 0;
}

function setInt(fd: number, option: number, value: number, what: string): void {
  if (!trySetInt(fd, option, value)) throw failure(what);
}
