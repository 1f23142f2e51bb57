/**
 * The userspace host side as a command runs it: `host connect --user-net` (over a pty or a
 * serial port) and `npm run connect -- --user-net` call `userNetMain` with the open line. It
 * starts the forwards, prints what to run, and serves until SIGINT/SIGTERM (exit 0) or until
 * the line goes away.
 */
import type { DriverLink } from '../../src/drivers/link.ts';
import type { PcapSink } from '../../src/phy/pcap-writer.ts';
import { formatIpv4 } from '../../src/wire/ipv4.ts';
import type { HostConnectConfig } from '../cli.ts';
import { Stopper } from './stopper.ts';
import { runUserNet, type UserNet } from './user-net.ts';

/** What userNetMain needs of the config: host connect's, or connect's with the same fields. */
export type UserNetConfig = Pick<HostConnectConfig, 'hostIp' | 'deviceIp' | 'mtu' | 'baud' | 'uartTiming' | 'forwards' | 'bind'>;

/**
 * Runs the userspace host side on `link` (every frame also to `pcapSink` when given) until a signal or the line's end; returns the exit code
 * (0 after SIGINT/SIGTERM or when `lineEndIsNormal` and the line closed; 1 when a port could
 * not be bound or the line was lost). Does not close `link`.
 */
export async function userNetMain(link: DriverLink, config: UserNetConfig, say: (line: string) => void, lineEndIsNormal = false,
  pcapSink: PcapSink | null = null): Promise<number> {
  let net: UserNet;
  try {
    net = await runUserNet({ link, ...config, pcapSink });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    say(`cannot listen: ${err.code === 'EADDRINUSE' ? `port ${(err as { port?: number }).port ?? ''} is already in use (choose others with --forward HOST:DEVICE)` : err.message}`);
    return 1;
  }
  // Signals are taken before `up` is printed: whoever reads it may signal at once.
  const stopper = new Stopper(say, () => void net.stop());
  say(`up (userspace, no root): ${formatIpv4(config.hostIp)} peer ${formatIpv4(config.deviceIp)} mtu ${config.mtu}`);
  for (const f of net.forwards) say(`forward ${config.bind}:${f.hostPort} -> device port ${f.devicePort}`);
  if (net.controlPort !== 0) say(`ping control on 127.0.0.1:${net.controlPort} (npm run ping)`);
  void link.closed.then((why) => stopper.stop(lineEndIsNormal ? 0 : 1, `line ${why.disconnected ? 'disappeared' : 'closed'}: ${why.reason}`));
  await net.done;
  stopper.detach();
  const s = net.stats;
  say(`forwarded ${s.accepted} connections (${s.reset} reset), ${s.toDevice} octets to the device, ${s.toHost} to the host`);
  return stopper.code;
}
