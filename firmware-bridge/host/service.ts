/**
 * The boot service `npm run flash -- --console … --service TTY` installs on the board: a
 * systemd unit where systemd runs, else a SysV/busybox init script, either of which starts the
 * firmware from `<to>/current` on the given UART at boot. The telnet password sits in
 * `<to>/telnet-password` (mode 600), read by the launcher, never on a command line.
 *
 * Everything here is text for the board's shell; `installCommands` is what the flasher runs.
 */

export interface ServiceOptions {
  /** Install directory on the board, e.g. /opt/slipstack. */
  to: string;
  /** The firmware's serial port on the board, e.g. /dev/ttymxc2. */
  port: string;
  baud: number;
  /** More firmware flags (--mtu, --ip, --peer), already validated. */
  firmwareArgs: readonly string[];
  /** True when a telnet password file was written. */
  passwordFile: boolean;
  /**
   * The console's own tty when the service is to take it over (systemd only): its login prompt
   * is masked and the firmware started on it once the flasher has logged out.
   */
  takeOverConsole: string | null;
}

export const UNIT_PATH = '/etc/systemd/system/slipstack.service';
export const INIT_PATH = '/etc/init.d/slipstack';

function execLine(o: ServiceOptions): string {
  return [`${o.to}/current/slipstack`, '--port', o.port, '--baud', String(o.baud), ...o.firmwareArgs].join(' ');
}

/** The systemd unit. */
export function systemdUnit(o: ServiceOptions): string {
  const getty = o.takeOverConsole === null ? null : `serial-getty@${o.takeOverConsole.replace(/^\/dev\//, '')}.service`;
  return `# Installed by slipstack's npm run flash -- --console ... --service ${o.port}
[Unit]
Description=slipstack firmware (TCP/IP over SLIP) on ${o.port}
After=local-fs.target
${getty === null ? '' : `Conflicts=${getty}\nAfter=${getty}\n`}
[Service]
${o.passwordFile ? `Environment=SLIPSTACK_PASSWORD_FILE=${o.to}/telnet-password\n` : ''}${getty === null ? '' : '# Kernel messages on the console would land in the SLIP line.\nExecStartPre=-/bin/dmesg -n 1\n'}ExecStart=${execLine(o)}
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
`;
}

/** The init script (POSIX sh; SysV init with update-rc.d, or busybox init's /etc/init.d/S??*). */
export function initScript(o: ServiceOptions): string {
  return `#!/bin/sh
### BEGIN INIT INFO
# Provides:          slipstack
# Required-Start:    $local_fs
# Required-Stop:     $local_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: slipstack firmware on ${o.port}
### END INIT INFO
# Installed by slipstack's npm run flash -- --console ... --service ${o.port}
DIR=${o.to}
PIDFILE=$DIR/slipstack.pid
LOG=$DIR/slipstack.log
${o.passwordFile ? 'SLIPSTACK_PASSWORD_FILE=$DIR/telnet-password\nexport SLIPSTACK_PASSWORD_FILE\n' : ''}
running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

case "$1" in
  start)
    running && exit 0
    nohup ${execLine(o)} >"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    ;;
  stop)
    if running; then
      kill "$(cat "$PIDFILE")"
      i=0
      while running && [ $i -lt 5 ]; do sleep 1; i=$((i + 1)); done
    fi
    rm -f "$PIDFILE"
    ;;
  restart)
    "$0" stop
    "$0" start
    ;;
  status)
    if running; then echo "slipstack is running (pid $(cat "$PIDFILE"))"; else echo "slipstack is not running"; exit 3; fi
    ;;
  *)
    echo "usage: $0 {start|stop|restart|status}" >&2
    exit 2
    ;;
esac
`;
}

/**
 * Shell lines that enable the service at boot and (re)start it now; they run after the unit or
 * script has been written. With `takeOverConsole`, the start happens 2 s after the flasher has
 * logged out, detached from its session.
 */
export function enableCommands(o: ServiceOptions, systemd: boolean): string[] {
  if (systemd) {
    const lines = ['systemctl daemon-reload', 'systemctl enable slipstack.service'];
    if (o.takeOverConsole !== null) {
      const getty = `serial-getty@${o.takeOverConsole.replace(/^\/dev\//, '')}.service`;
      lines.push(`systemctl mask ${getty}`);
      lines.push(`setsid sh -c 'sleep 2; systemctl stop ${getty}; systemctl restart slipstack.service' >/dev/null 2>&1 </dev/null &`);
    } else {
      lines.push('systemctl restart slipstack.service');
    }
    return lines;
  }
  return [
    `chmod 755 ${INIT_PATH}`,
    // Debian/Yocto SysV: rc links; busybox init: rcS runs /etc/init.d/S??* itself.
    `if command -v update-rc.d >/dev/null 2>&1; then update-rc.d slipstack defaults >/dev/null; ` +
      `elif command -v chkconfig >/dev/null 2>&1; then chkconfig --add slipstack; ` +
      `else ln -sf slipstack /etc/init.d/S99slipstack; fi`,
    `${INIT_PATH} restart`,
  ];
}

/**
 * A shell line that waits (up to `seconds`) for the firmware's "ready" line, then prints the
 * last lines of its log; its status is 0 once ready.
 */
export function readyCheck(o: ServiceOptions, systemd: boolean, seconds = 30): string {
  const log = systemd ? 'journalctl -u slipstack.service -b --no-pager -n 20 2>/dev/null' : `cat ${o.to}/slipstack.log 2>/dev/null`;
  return `i=0; while [ $i -lt ${seconds} ]; do ${log} | grep -q 'firmware: .*ready' && break; sleep 1; i=$((i + 1)); done; ` +
    `${log} | tail -n 6; ${log} | grep -q 'firmware: .*ready'`;
}
