/**
 * Child process for tun.test.ts, run inside a test network namespace:
 *   ip netns exec NS node --import tsx test/drivers/tun-echo.child.ts NAME LOCAL PEER [push|pull]
 * Opens TUN NAME, configures LOCAL peer PEER, prints `{"ready":…}`, answers every ICMP echo
 * request to PEER with a reply built by hand, prints `{"request":…}`, and exits when stdin
 * closes or after 20 s. `push` receives through onPacket, `pull` through onActivity + receive.
 * Everything it prints is one JSON object per line.
 */
import { configureTun, TunDevice } from '../../src/drivers/tun.ts';

const [name = 'sltest0', local = '192.0.2.1', peer = '192.0.2.2', mode = 'push'] = process.argv.slice(2);

function say(obj: object): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function checksum(buf: Uint8Array, off: number, len: number): number {
  let sum = 0;
  for (let i = 0; i + 1 < len; i += 2) sum += (buf[off + i]! << 8) | buf[off + i + 1]!;
  if (len & 1) sum += buf[off + len - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const dotted = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

async function main(): Promise<void> {
  const tun = TunDevice.open(name);
  const reply = new Uint8Array(2048);
  let answered = 0;
  const handle = (buf: Uint8Array, off: number, len: number): void => {
    const ihl = (buf[off]! & 0x0f) * 4;
    const protocol = buf[off + 9]!;
    const src = dotted(buf, off + 12);
    const dst = dotted(buf, off + 16);
    const icmpType = protocol === 1 ? buf[off + ihl]! : -1;
    say({ packet: { len, protocol, src, dst, icmpType } });
    if (protocol !== 1 || icmpType !== 8 || dst !== peer || len > reply.length) return;
    // Echo reply (RFC 792): swap the addresses, type 0, new ICMP checksum; the IPv4 header
    // checksum is unchanged by a swap of two of its words.
    reply.set(buf.subarray(off, off + len), 0);
    reply.set(buf.subarray(off + 16, off + 20), 12);
    reply.set(buf.subarray(off + 12, off + 16), 16);
    reply[ihl] = 0;
    reply[ihl + 2] = 0;
    reply[ihl + 3] = 0;
    const sum = checksum(reply, ihl, len - ihl);
    reply[ihl + 2] = sum >>> 8;
    reply[ihl + 3] = sum & 0xff;
    const ok = tun.write(reply, 0, len);
    answered++;
    say({ request: { len, src, dst, icmpId: (buf[off + ihl + 4]! << 8) | buf[off + ihl + 5]!, replied: ok, mode } });
  };
  if (mode === 'pull') {
    const packet = new Uint8Array(2048);
    tun.onActivity(() => {
      for (let len = tun.receive(packet, 0, packet.length); len > 0; len = tun.receive(packet, 0, packet.length)) handle(packet, 0, len);
    });
  } else {
    tun.onPacket(handle);
  }
  await configureTun(tun.name, { local, peer, mtu: 1006 });
  say({ ready: true, name: tun.name });
  const finish = (): void => {
    say({ stats: tun.stats, answered });
    tun.close();
    process.exit(0);
  };
  process.stdin.on('end', finish);
  process.stdin.on('close', finish);
  process.stdin.resume();
  setTimeout(finish, 20_000).unref();
}

main().catch((error: unknown) => {
  say({ error: String(error instanceof Error ? error.message : error), code: (error as { code?: string }).code });
  process.exit(2);
});
