/**
 * The serial line with Van Jacobson header compression (RFC 1144), in virtual time; part of the
 * `link` bench (bench/link.bench.ts calls `cslipFigures`).
 *
 * - link_eff_cslip_115200_<mtu>: bulk TCP goodput between two stacks whose SLIP devices both run
 *   `cslip`, over the UART-timed line at 115200 baud, worse direction, divided by the physical
 *   limit of plain SLIP on the same line: (baud/10) x MSS / (MTU + 2 + escapes), MSS = MTU - 40
 *   (no TCP timestamps: the best plain SLIP can do). A compressed header is 4 octets instead of
 *   40 (3 in RFC 1144's shortest form; we name the connection in that case, see src/phy/vj.ts),
 *   so compression must beat that limit: about 298 / 262 at MTU 296.
 * - keystroke_rtt_ms_115200 and keystroke_rtt_ms_cslip_115200: the telnet server's echo of one
 *   typed octet, from the client's send until the echo is read, median of 50 keystrokes, with
 *   plain SLIP (the client offers TCP timestamps, as Linux does) and with CSLIP (the device
 *   declines timestamps, as the firmware does whenever compression may come on). The clock here
 *   ticks in 10 µs units and the TCP timers are scaled to match.
 */
import { TelnetServer } from '../firmware-bridge/telnet/server.ts';
import { Interface } from '../src/iface/interface.ts';
import { CslipDevice, type SlipProto } from '../src/phy/cslip-device.ts';
import type { ByteLink } from '../src/phy/device.ts';
import { SlipDevice } from '../src/phy/slip-device.ts';
import { UartLinkPair } from '../src/phy/uart.ts';
import { VJ_HEADROOM } from '../src/phy/vj.ts';
import type { TcpConfig } from '../src/socket/tcp/config.ts';
import { TcpStack } from '../src/socket/tcp/stack.ts';
import { TcpState } from '../src/socket/tcp/state.ts';
import { PacketPool } from '../src/storage/packet-pool.ts';
import { NEVER, type Pollable } from '../src/time.ts';
import { HOST_A as A, HOST_B as B } from '../support/addresses.ts';
import { randomBytes } from '../support/pattern.ts';
import { escapes, simulate, timeOneWay } from './lib/sim.ts';
import { median } from './lib/timing.ts';
import type { BenchContext, Figure } from './lib/types.ts';


/** One end of the line: SLIP with header compression in `proto`. */
function end(link: ByteLink, mtu: number, proto: SlipProto, slots: number): CslipDevice {
  const pool = new PacketPool({ slots, mtu, headroom: VJ_HEADROOM });
  return new CslipDevice(new SlipDevice(link, pool, { txQueue: 8 }), { proto });
}

/** Goodput (octets/s) of `size` octets one way over the UART-timed line with CSLIP both ends, and the plain-SLIP limit. */
function cslipGoodput(baud: number, mtu: number, size: number, reverse: boolean): { goodput: number; limit: number } {
  const links = new UartLinkPair(baud, { fifo: 8192 });
  const devA = end(links.a, mtu, 'cslip', 64);
  const devB = end(links.b, mtu, 'cslip', 64);
  const config = { timestamps: false };
  const tcpA = new TcpStack({ sockets: 2, isnKey: [1, 2, 3, 4], config });
  const tcpB = new TcpStack({ sockets: 2, isnKey: [5, 6, 7, 8], config });
  const a = new Interface({ device: devA, address: A, tcp: tcpA });
  const b = new Interface({ device: devB, address: B, tcp: tcpB });
  const l = tcpB.listen(5001, 1);
  const client = tcpA.connect(0, B, 5001)!;
  const data = randomBytes(size, 0x1144 + mtu);
  const { first, last } = timeOneWay([a, b], tcpB, l, client, data, reverse);
  if (last < 0) throw new Error(`cslip ${baud}/${mtu}: transfer did not finish`);
  const mss = mtu - 40;
  const firstSegment = Math.min(size, mss);
  const goodput = (size - firstSegment) / ((last - first) / 1000);
  const escPerSegment = (escapes(data) / size) * mss;
  const limit = ((baud / 10) * mss) / (mtu + 2 + escPerSegment);
  const sender = reverse ? devB : devA;
  if (sender.stats.out.compressed < (size / mss) * 0.9) throw new Error(`cslip ${baud}/${mtu}: only ${sender.stats.out.compressed} segments went compressed`);
  return { goodput, limit };
}

/** TCP timers for a clock in 10 µs units (100 per ms). */
function scaledTcp(scale: number, timestamps: boolean): Partial<TcpConfig> {
  return {
    timestamps, rtoInitialMs: 1000 * scale, rtoMinMs: 1000 * scale, rtoMaxMs: 60_000 * scale, mslMs: 30_000 * scale,
    finWait2TimeoutMs: 60_000 * scale, delayedAckMs: 40 * scale,
  };
}

/**
 * Telnet keystroke echo RTTs (ms) at `baud`: the device runs the telnet server with SLIP in
 * `deviceProto`, the client in `clientProto`; the client logs in, then types one octet every
 * 200 ms and times each echo.
 */
function keystrokeRtts(baud: number, deviceProto: SlipProto, clientProto: SlipProto, count: number): { rtts: number[]; wireOctets: number } {
  const SCALE = 100; // clock units per ms: the UART is fed baud / SCALE
  const links = new UartLinkPair(baud / SCALE);
  const device = end(links.a, 1006, deviceProto, 32);
  const client = end(links.b, 1006, clientProto, 32);
  const tcpDevice = new TcpStack({ sockets: 4, isnKey: [1, 2, 3, 4], config: scaledTcp(SCALE, deviceProto === 'slip') });
  const tcpClient = new TcpStack({ sockets: 2, isnKey: [5, 6, 7, 8], config: scaledTcp(SCALE, true) });
  const a = new Interface({ device, address: B, tcp: tcpDevice });
  const b = new Interface({ device: client, address: A, tcp: tcpClient });
  // No login or idle limit: the clock here is in 10 µs units, and simulate() jumps to the next
  // deadline when the line is quiet, so the 900 s idle limit (9 s here) would end the session.
  const telnet = new TelnetServer(a, tcpDevice, { password: 'pw', loginTimeoutMs: 0, idleTimeoutMs: 0, closeTimeoutMs: 10_000 * SCALE });
  const clock = { now: 0 };
  const sock = tcpClient.connect(0, B, 23)!;
  const buf = new Uint8Array(4096);
  let text = '';
  const reader: Pollable = {
    poll() {
      let progress = false;
      for (;;) {
        const n = sock.recv(buf, 0, buf.length);
        if (n <= 0) break;
        for (let i = 0; i < n; i++) text += String.fromCharCode(buf[i]!);
        progress = true;
      }
      return progress;
    },
    pollAt: () => NEVER,
  };
  const parts = [a, b, telnet, reader];
  const type = (s: string): void => {
    const bytes = new TextEncoder().encode(s);
    sock.send(bytes, 0, bytes.length);
  };
  simulate(parts, clock, () => text.includes('Password: '), 10_000 * SCALE);
  type('pw\r\n');
  simulate(parts, clock, () => text.includes('slipstack> '), clock.now + 10_000 * SCALE);
  if (!text.includes('slipstack> ')) throw new Error(`keystroke bench: no shell prompt (got ${JSON.stringify(text)})`);
  // Let the login's ACKs settle before timing.
  simulate(parts, clock, () => false, clock.now + 500 * SCALE);
  const rtts: number[] = [];
  const wire0 = (device.inner as SlipDevice).stats.txBytes + (client.inner as SlipDevice).stats.txBytes;
  for (let i = 0; i < count; i++) {
    const key = String.fromCharCode(0x61 + (i % 26));
    const before = text.length;
    type(key);
    const t0 = clock.now;
    simulate(parts, clock, () => text.length > before, clock.now + 5_000 * SCALE);
    if (text.slice(before) !== key) throw new Error(`keystroke bench: typed ${key}, echoed ${JSON.stringify(text.slice(before))}`);
    rtts.push((clock.now - t0) / SCALE);
    simulate(parts, clock, () => false, clock.now + 200 * SCALE);
  }
  const wireOctets = ((device.inner as SlipDevice).stats.txBytes + (client.inner as SlipDevice).stats.txBytes - wire0) / count;
  if (sock.state !== TcpState.Established) throw new Error('keystroke bench: the session ended');
  return { rtts, wireOctets };
}

export function cslipFigures(ctx: BenchContext): Figure[] {
  const figures: Figure[] = [];
  const baud = 115200;
  for (const mtu of [296, 1006]) {
    const size = Math.round((baud / 10) * (ctx.quick ? 10 : 60));
    const ab = cslipGoodput(baud, mtu, size, false);
    const ba = cslipGoodput(baud, mtu, size, true);
    const eff = Math.min(ab.goodput / ab.limit, ba.goodput / ba.limit);
    const physical = (mtu + 2) / (mtu - 40 + 4 + 2);
    ctx.log(`CSLIP ${baud} baud MTU ${mtu}: A->B ${ab.goodput.toFixed(0)} B/s, B->A ${ba.goodput.toFixed(0)} B/s, plain-SLIP limit ${ab.limit.toFixed(0)} B/s, ` +
      `CSLIP's own limit ${physical.toFixed(3)} x`);
    figures.push({
      key: `link_eff_cslip_${baud}_${mtu}`,
      value: +eff.toFixed(4),
      unit: 'x plain limit',
      target: mtu === 296 ? '>= 1.10' : '>= 1.03',
      note: `CSLIP both ends, worse direction, over the plain-SLIP limit ${ab.limit.toFixed(0)} B/s (MSS ${mtu - 40}); ` +
        `4-octet headers, so at most ${physical.toFixed(3)} x`,
    });
  }
  const count = ctx.quick ? 10 : 50;
  const plain = keystrokeRtts(baud, 'slip', 'slip', count);
  const compressed = keystrokeRtts(baud, 'adaptive', 'cslip', count);
  const plainMs = median(plain.rtts);
  const cslipMs = median(compressed.rtts);
  ctx.log(`keystroke echo at ${baud}: plain ${plainMs.toFixed(2)} ms (${plain.wireOctets.toFixed(0)} wire octets per keystroke), ` +
    `CSLIP ${cslipMs.toFixed(2)} ms (${compressed.wireOctets.toFixed(0)} octets)`);
  figures.push({ key: `keystroke_rtt_ms_${baud}`, value: +plainMs.toFixed(2), unit: 'ms',
    note: `one typed octet to its echo, plain SLIP with TCP timestamps, ${plain.wireOctets.toFixed(0)} octets on the wire per keystroke (both ways, ACKs included)` });
  figures.push({ key: `keystroke_rtt_ms_cslip_${baud}`, value: +cslipMs.toFixed(2), unit: 'ms',
    note: `the same with CSLIP (firmware adaptive, client cslip), ${compressed.wireOctets.toFixed(0)} octets per keystroke` });
  return figures;
}
