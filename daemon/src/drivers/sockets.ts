// Listening sockets the daemon's native servers need and Node cannot make: bound to one NIC
// (SO_BINDTODEVICE before bind, so a packet arriving on another NIC never reaches them), bindable
// before an IPv6 address finished duplicate address detection (IP_FREEBIND), with a large receive
// buffer. Made with libc through koffi; a TCP socket is handed to net.Server as a file descriptor, a
// UDP socket to BatchUdpSocket (udp-batch.ts) or node:dgram (device-socket.ts).
import { isIPv4 } from 'node:net';
import koffi from 'koffi';
import ipaddr from 'ipaddr.js';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
/** Shared with the other drivers that make sockets through libc (nft-netlink.ts). */
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_BROADCAST = 6;
const SO_RCVBUF = 8;
const SO_BINDTODEVICE = 25;
const SO_RCVBUFFORCE = 33;
const IPPROTO_IP = 0;
const IPPROTO_IPV6 = 41;
const IP_FREEBIND = 15;
const IPV6_V6ONLY = 26;
const IPV6_FREEBIND = 78;

/** libc, loaded once for every driver that calls it through koffi. */
export const libc = koffi.load('libc.so.6');
export const sys = {
  socket: libc.func('int socket(int domain, int type, int protocol)') as (
    d: number,
    t: number,
    p: number,
  ) => number,
  setsockopt: libc.func(
    'int setsockopt(int fd, int level, int name, const void *value, uint32_t length)',
  ) as (fd: number, level: number, name: number, value: Buffer, length: number) => number,
  bind: libc.func('int bind(int fd, const void *address, uint32_t length)') as (
    fd: number,
    address: Buffer,
    length: number,
  ) => number,
  listen: libc.func('int listen(int fd, int backlog)') as (fd: number, backlog: number) => number,
  close: libc.func('int close(int fd)') as (fd: number) => number,
  /** Variadic: call as ioctl(fd, request, 'void *', buffer). */
  ioctl: libc.func('int ioctl(int fd, unsigned long request, ...)') as (
    fd: number,
    request: number,
    ...rest: unknown[]
  ) => number,
  strerror: libc.func('const char *strerror(int errnum)') as (errno: number) => string,
};

export function lastError(what: string): Error {
  const errno = koffi.errno();
  return Object.assign(new Error(`${what}: ${sys.strerror(errno)}`), { errno });
}

export interface ListenSpec {
  /** Local IPv4 or IPv6 address. */
  readonly address: string;
  readonly port: number;
  /** Kernel name of the link the socket only receives from and sends through. */
  readonly device: string;
}

/** sockaddr_in / sockaddr_in6 for an address and port. */
export function socketAddress(address: string, port: number): Buffer {
  if (isIPv4(address)) {
    const sa = Buffer.alloc(16);
    sa.writeUInt16LE(AF_INET, 0);
    sa.writeUInt16BE(port, 2);
    Buffer.from(ipaddr.IPv4.parse(address).toByteArray()).copy(sa, 4);
    return sa;
  }
  const sa = Buffer.alloc(28);
  sa.writeUInt16LE(AF_INET6, 0);
  sa.writeUInt16BE(port, 2);
  Buffer.from(ipaddr.IPv6.parse(address).toByteArray()).copy(sa, 8);
  return sa;
}

/** A bound, non-blocking UDP socket; its file descriptor. */
export function openUdpSocket(spec: ListenSpec, receiveBuffer: number): number {
  return open(spec, SOCK_DGRAM, (fd) => setReceiveBuffer(fd, receiveBuffer));
}

/** A UDP socket on 0.0.0.0:`port` of `device` that may send broadcasts and share the port with the
 * same socket on other devices (a DHCP server: one per NIC). */
export function openBroadcastUdpSocket(device: string, port: number, receiveBuffer: number): number {
  return open({ address: '0.0.0.0', port, device }, SOCK_DGRAM, (fd) => {
    check(setInt(fd, SOL_SOCKET, SO_REUSEADDR, 1), 'SO_REUSEADDR', fd);
    check(setInt(fd, SOL_SOCKET, SO_BROADCAST, 1), 'SO_BROADCAST', fd);
    setReceiveBuffer(fd, receiveBuffer);
  });
}

function setReceiveBuffer(fd: number, bytes: number): void {
  // Root may go past net.core.rmem_max; otherwise the kernel clamps the plain option.
  if (setInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes) < 0) setInt(fd, SOL_SOCKET, SO_RCVBUF, bytes);
}

/** A bound, listening, non-blocking TCP socket; its file descriptor. */
export function openTcpListener(spec: ListenSpec, backlog = 128): number {
  return open(
    spec,
    SOCK_STREAM,
    (fd) => {
      check(setInt(fd, SOL_SOCKET, SO_REUSEADDR, 1), 'SO_REUSEADDR', fd);
    },
    (fd) => check(sys.listen(fd, backlog), 'listen', fd),
  );
}

function open(
  spec: ListenSpec,
  type: number,
  before: (fd: number) => void,
  after?: (fd: number) => void,
): number {
  const v4 = isIPv4(spec.address);
  const fd = sys.socket(v4 ? AF_INET : AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw lastError('socket');
  try {
    before(fd);
    if (v4) check(setInt(fd, IPPROTO_IP, IP_FREEBIND, 1), 'IP_FREEBIND', fd);
    else {
      check(setInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1), 'IPV6_V6ONLY', fd);
      check(setInt(fd, IPPROTO_IPV6, IPV6_FREEBIND, 1), 'IPV6_FREEBIND', fd);
    }
    const device = Buffer.from(`${spec.device}\0`);
    check(
      sys.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, device.length),
      `SO_BINDTODEVICE ${spec.device}`,
      fd,
    );
    const address = socketAddress(spec.address, spec.port);
    check(sys.bind(fd, address, address.length), `bind ${spec.address} port ${spec.port}`, fd);
    after?.(fd);
    return fd;
  } catch (e) {
    sys.close(fd);
    throw e;
  }
}

function setInt(fd: number, level: number, name: number, value: number): number {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32LE(value);
  return sys.setsockopt(fd, level, name, buffer, 4);
}

function check(result: number, what: string, fd: number): void {
  if (result < 0) throw lastError(`${what} (fd ${fd})`);
}
