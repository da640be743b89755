// UDP sockets bound to one network device, for servers that must answer a broadcast out of the NIC it
// came in on (DHCP). The socket is made and configured before it is bound (sockets.ts:
// SO_REUSEADDR for one per NIC on the same port, SO_BINDTODEVICE, SO_BROADCAST, a larger receive
// buffer for bursts), then handed to node:dgram, so no packet of another NIC can reach it in between
// (as it could if SO_BINDTODEVICE were set after dgram's own bind).
//
// setNeighbour puts a client's MAC in the kernel's ARP table (SIOCSARP, as dnsmasq does) so a reply
// can be unicast to an address the client has been offered but cannot answer ARP for yet.
import dgram from 'node:dgram';
import { lastError, openBroadcastUdpSocket, sys } from './sockets.js';

const AF_INET = 2;
const SIOCSARP = 0x8955;
const ARPHRD_ETHER = 1;
const ATF_COM = 0x02;
const IFNAMSIZ = 16;
const RECEIVE_BUFFER = 4 << 20;

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
    const fd = openBroadcastUdpSocket(device, port, RECEIVE_BUFFER);
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
    if (sys.ioctl(this.fd, SIOCSARP, 'void *', request) === 0) return true;
    return lastError('SIOCSARP').message;
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.socket.close();
  }
}
