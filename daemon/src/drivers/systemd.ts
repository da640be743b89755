// sd_notify(3) through libsystemd (koffi): READY=1 once the config is restored and the API listens,
// WATCHDOG=1 while the event loop is alive, STOPPING=1 on shutdown. Node has no unix datagram
// sockets, hence the FFI. Without $NOTIFY_SOCKET (not started by systemd) every call is a no-op.
import koffi from 'koffi';

export interface Notifier {
  notify(state: string): void;
  /** Interval at which systemd expects WATCHDOG=1, or undefined when the watchdog is off. */
  readonly watchdogIntervalMs: number | undefined;
}

export function systemdNotifier(env: NodeJS.ProcessEnv = process.env): Notifier {
  const usec = Number(env['WATCHDOG_USEC'] ?? 0);
  const watchdogIntervalMs = usec > 0 ? usec / 1000 : undefined;
  if (env['NOTIFY_SOCKET'] === undefined) return { notify: () => undefined, watchdogIntervalMs };
  const sdNotify = koffi.load('libsystemd.so.0').func('sd_notify', 'int', ['int', 'const char *']);
  return {
    notify: (state) => {
      sdNotify(0, state);
    },
    watchdogIntervalMs,
  };
}
