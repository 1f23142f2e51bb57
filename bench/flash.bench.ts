/**
 * The flash image and the console flasher (`npm run flash`, `npm run flash -- --console`):
 *
 * - image_bytes_*: the size of each tarball `npm run flash` writes, octets (what the console
 *   flasher sends is one CPU's tarball; the all-CPU one is for copying by other means).
 * - flash_upload_s_<baud>: how long the upload takes on a real line at that baud: the flasher,
 *   as its own process, against a real login (or bash) on a pty, its traffic timed on a virtual
 *   UART (test/helpers/board-console.ts LineMeter: baud/10 octets/s each way, a write waits for
 *   what its writer had received, processing takes no time), from the first chunk going up to
 *   the command that joins them. The board here is x64, so it sends the linux-x64 tarball.
 * - startup_ms_first_ping: real time from starting the firmware (the image's launcher, as the
 *   boot service does) on a pty behind host connect to the first ping it answers (ping sends
 *   every 5 ms meanwhile); the median of several starts. Needs root (a network namespace).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildImage, type Image } from '../firmware-bridge/host/image.ts';
import { ConsoleBoard, loginUnavailable } from '../test/helpers/board-console.ts';
import { DEVICE_IP, Rig, canUseNetns } from '../test/helpers/netns.ts';
import { node18 } from '../test/helpers/node18.ts';
import type { BenchContext, Figure } from './lib/types.ts';

export const name = 'flash';

const ROOT = join(import.meta.dirname, '..');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** One console flash at `baud` (virtual); returns the upload's virtual seconds. */
async function uploadSeconds(baud: number, ctx: BenchContext): Promise<number> {
  const password = 'bench-board';
  const board = await ConsoleBoard.start({ password, ...(loginUnavailable() === null ? {} : { mode: 'script' as const }) });
  try {
    const cable = board.plug(baud);
    cable.watch("base64 -d > p00000 <<'SLIPSTACK_EOF'");
    cable.watch('cat c[0-9]');
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'firmware-bridge/host/flash.ts'), '--console', cable.hostPath,
      '--baud', String(baud), '--to', join(board.scratch, 'opt/slipstack')], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLIPSTACK_BOARD_PASSWORD: password },
    });
    let log = '';
    child.stdout.on('data', (d: Buffer) => { log += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { log += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`flash failed at ${baud}:\n${log}`);
    const start = cable.marks.get("base64 -d > p00000 <<'SLIPSTACK_EOF'");
    const end = cable.marks.get('cat c[0-9]');
    if (start === undefined || end === undefined) throw new Error('the upload was not seen on the cable');
    ctx.log(`${baud} baud: ${cable.meter.upOctets} octets up, ${cable.meter.downOctets} down, upload ${(end - start).toFixed(1)} s virtual`);
    return end - start;
  } finally {
    await board.stop();
  }
}

/** Starts the image's firmware `runs` times behind host connect; ms from spawn to the first ping answered. */
async function startupMs(image: Image, runs: number, nodeBinary: string | null, ctx: BenchContext): Promise<number[]> {
  const rig = new Rig();
  const times: number[] = [];
  const command = [...(nodeBinary === null ? [] : ['env', `SLIPSTACK_NODE=${nodeBinary}`]), join(image.dir, 'slipstack')];
  let devicePath = '';
  // The password in the environment, not argv (which every local user can read).
  const passwordEnv = { ...process.env, SLIPSTACK_PASSWORD: rig.password };
  const once = async (): Promise<void> => {
    const t0 = performance.now();
    const fw = rig.spawn(command[0]!, [...command.slice(1), '--port', devicePath], passwordEnv);
    const r = await rig.execIn('ping', ['-n', '-q', '-c', '1', '-i', '0.005', '-w', '20', DEVICE_IP], { allowFail: true });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`no ping answer within 20 s: ${fw.err}`);
    times.push(ms);
    fw.child.kill('SIGTERM');
    await fw.exited;
  };
  try {
    await rig.start({ startDevice: async (path) => {
      devicePath = path;
      await once();
      // Rig.start pings once more after this: the device must be up.
      rig.firmware = rig.spawn(command[0]!, [...command.slice(1), '--port', devicePath], passwordEnv);
      await rig.firmware.waitFor(/ready/);
    } });
    await rig.stopFirmware();
    for (let i = 1; i < runs; i++) await once();
  } finally {
    await rig.stop();
  }
  ctx.log(`first ping after ${times.map((t) => t.toFixed(0)).join(', ')} ms${nodeBinary === null ? '' : ' (Node 18)'}`);
  return times;
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const image = await buildImage({ root: ROOT, outDir: join(ROOT, '.tmp', 'bench-image'), log: ctx.log });
  const figures: Figure[] = [];
  for (const t of image.tarballs) {
    figures.push({
      key: t.arch === null ? 'image_bytes_all' : `image_bytes_linux_${t.arch}`,
      value: t.bytes,
      unit: 'octets',
      note: t.arch === null ? 'the image tarball with linux arm, arm64 and x64 binaries' : `what the console flasher sends to a linux ${t.arch} board (tar.gz)`,
    });
  }
  const x64 = image.tarballs.find((t) => t.arch === 'x64')!.bytes;
  const arm = image.tarballs.find((t) => t.arch === 'arm')!.bytes;
  for (const baud of [115200, 921600]) {
    const s = await uploadSeconds(baud, ctx);
    figures.push({
      key: `flash_upload_s_${baud}`,
      value: s,
      unit: 's',
      note: `console upload of the linux-x64 tarball (${x64} octets) at ${baud} baud, virtual UART time; ` +
        `the line's floor for its base64 is ${((x64 * 4 / 3 * 77 / 76) / (baud / 10)).toFixed(1)} s; linux-arm (${arm} octets) scales to ${(s * arm / x64).toFixed(1)} s`,
    });
  }
  if (!canUseNetns()) {
    ctx.log('startup_ms_first_ping: skipped (needs root and network namespaces)');
    return figures;
  }
  const runs = ctx.quick ? 1 : 3;
  figures.push({
    key: 'startup_ms_first_ping',
    value: Math.round(median(await startupMs(image, runs, null, ctx))),
    unit: 'ms',
    note: `firmware start (the image's launcher, node ${process.version}) to the first ping answered, pty behind host connect, median of ${runs}`,
  });
  const n18 = node18();
  if ('why' in n18) {
    ctx.log(`startup_ms_first_ping_node18: skipped (${n18.why})`);
  } else {
    figures.push({
      key: 'startup_ms_first_ping_node18',
      value: Math.round(median(await startupMs(image, runs, n18.node, ctx))),
      unit: 'ms',
      note: `the same on Debian bookworm's node ${n18.version}, median of ${runs}`,
    });
  }
  return figures;
}
