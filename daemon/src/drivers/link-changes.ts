// Tells when the kernel's links may have changed: an rtnetlink socket in the link group
// (RTNLGRP_LINK) counts the notifications, so the facts of a write (which link has which MAC) are
// read again only after a change instead of dumped on every write, and a renamed NIC is followed.
import { createRtNetlink } from 'netlink';

export class LinkChanges {
  private readonly socket = createRtNetlink();
  private seen = 0;
  private trusted = true;

  /** `onChange` runs on every announcement (several come for one rename). */
  constructor(onChange: () => void) {
    this.socket.addMembership('LINK');
    const changed = () => {
      this.seen++;
      onChange();
    };
    this.socket.on('message', changed);
    this.socket.on('invalid', changed);
    // A dropped notification (ENOBUFS) cannot be told apart from none: stop trusting the count.
    this.socket.socket.on('error', () => {
      this.trusted = false;
      onChange();
    });
  }

  /** Changes whenever links may have changed; undefined once a notification may have been lost. */
  get version(): number | undefined {
    return this.trusted ? this.seen : undefined;
  }

  close(): void {
    this.socket.socket.close();
  }
}
