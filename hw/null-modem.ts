/**
 * Virtual serial wiring for trying the hardware modes without hardware (what `socat pty pty`
 * does, plus a line rate):
 *
 *   node --import tsx hw/null-modem.ts loop [--baud N]   one port whose TX comes back on its RX (a jumper)
 *   node --import tsx hw/null-modem.ts pair [--baud N]   two ports, TX and RX crossed (a null-modem cable)
 *
 * It prints the port paths (/dev/pts/N) and runs until Ctrl-C. With --baud, each direction
 * carries baud/10 octets per second (UartTimedLink), so throughput percentages mean something;
 * without it a pty is as fast as memory. Then, in another shell, for example:
 *
 *   TEST_PORT=/dev/pts/5 npm run test:hw
 *   TEST_PORT_A=/dev/pts/6 TEST_PORT_B=/dev/pts/7 npm run test:hw
 *   SLIPSTACK_PASSWORD=pw npm run firmware -- --port /dev/pts/7 &  TEST_PORT_A=/dev/pts/6 TEST_PEER=firmware TEST_PASSWORD=pw npm run test:hw
 */
import { parseArgs } from 'node:util';
import { FdLink } from '../src/drivers/fd-link.ts';
import { HostLoop } from '../src/drivers/host-loop.ts';
import { openPtyPair, type PtyHandles } from '../src/drivers/pty.ts';
import type { ByteLink } from '../src/phy/device.ts';
import { UartTimedLink } from '../src/phy/uart.ts';
import type { Pollable } from '../src/time.ts';

/** Moves octets read from `from` into `to`, keeping what `to` refuses for later. */
class Wire implements Pollable {
  private readonly from: ByteLink;
  private readonly to: ByteLink;
  private readonly buffer = new Uint8Array(4096);
  private pos = 0;
  private len = 0;

  constructor(from: ByteLink, to: ByteLink) {
    this.from = from;
    this.to = to;
  }

  poll(now: number): boolean {
    let progress = false;
    for (;;) {
      if (this.pos < this.len) {
        const n = this.to.write(now, this.buffer, this.pos, this.len - this.pos);
        this.pos += n;
        if (n > 0) progress = true;
        if (this.pos < this.len) return progress;
      }
      const got = this.from.read(now, this.buffer, 0, this.buffer.length);
      if (got === 0) return progress;
      this.pos = 0;
      this.len = got;
      progress = true;
    }
  }

  pollAt(now: number): number {
    const a = this.from.pollAt(now);
    const b = this.to.pollAt(now);
    return a < b ? a : b;
  }
}

async function main(): Promise<number> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({ args: process.argv.slice(2), options: { baud: { type: 'string' } }, allowPositionals: true }));
  } catch (e) {
    process.stderr.write(`null-modem: ${(e as Error).message}\n`);
    return 2;
  }
  const mode = positionals[0];
  const baud = values.baud === undefined ? 0 : Number(values.baud);
  if ((mode !== 'loop' && mode !== 'pair') || !Number.isInteger(baud) || baud < 0) {
    process.stderr.write('usage: node --import tsx hw/null-modem.ts (loop | pair) [--baud N]\n');
    return 2;
  }
  const ptys: PtyHandles[] = [];
  const masters: FdLink[] = [];
  for (let i = 0; i < (mode === 'loop' ? 1 : 2); i++) {
    const pty = openPtyPair();
    ptys.push(pty);
    masters.push(new FdLink(pty.masterFd, { closeFd: false, name: `pty master ${pty.slavePath}` }));
  }
  const paced = (link: FdLink): ByteLink => (baud > 0 ? new UartTimedLink(link, baud) : link);
  const loop = new HostLoop();
  for (const m of masters) m.onActivity(() => loop.wake());
  if (mode === 'loop') {
    loop.add(new Wire(masters[0]!, paced(masters[0]!)));
    process.stdout.write(`null-modem: loopback port ${ptys[0]!.slavePath}${baud > 0 ? ` at ${baud} baud` : ''}\n`);
  } else {
    loop.add(new Wire(masters[0]!, paced(masters[1]!)));
    loop.add(new Wire(masters[1]!, paced(masters[0]!)));
    process.stdout.write(`null-modem: ports ${ptys[0]!.slavePath} <-> ${ptys[1]!.slavePath}${baud > 0 ? ` at ${baud} baud` : ''}\n`);
  }
  const stop = (): void => void loop.stop();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await loop.run();
  for (const m of masters) await m.close();
  for (const p of ptys) p.close();
  return 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  process.stderr.write(`null-modem: ${(e as Error).message}\n`);
  process.exit(1);
});
