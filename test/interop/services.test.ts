/**
 * Real peer: OpenBSD `nc` against the device's TCP services (issue 4 §5): echo (7) with 5 MiB
 * of random data and with 50 connections at once, discard (9) with 20 MiB, chargen (19) read
 * for 1 MiB. At the end the firmware is stopped with SIGTERM and the octet counts it prints
 * must match what was sent.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { sha256 } from '../../support/pattern.ts';
import { DEVICE_IP, Rig, interopDescribe } from '../helpers/netns.ts';

const MiB = 1024 * 1024;

/**
 * Checks `data` against the RFC 864 character generator: lines of 72 characters and CR LF, cut
 * from the 95 printable ASCII characters, each line starting one character further on. Returns
 * a description of the first mismatch, or null.
 */
function chargenMismatch(data: Uint8Array): string | null {
  const first = data[0]! - 0x20;
  if (first < 0 || first >= 95) return `first octet ${data[0]} is not printable`;
  for (let i = 0; i < data.length; i++) {
    const line = Math.floor(i / 74);
    const col = i % 74;
    const want = col === 72 ? 0x0d : col === 73 ? 0x0a : 0x20 + ((first + line + col) % 95);
    if (data[i] !== want) return `octet ${i} (line ${line}, column ${col}) is ${data[i]}, expected ${want}`;
  }
  return null;
}

interopDescribe('interop: echo, discard and chargen with nc', function () {
  this.timeout(120_000);
  const rig = new Rig();
  let dir = '';
  /** What the device should have counted, by what the tests that ran sent. */
  let echoed = 0;
  let discarded = 0;
  let chargenRead = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipstack-interop-'));
    await rig.start();
  });

  after(async () => {
    await rig.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('50 connections at once to echo, each with its own data: all come back intact', async () => {
    const sizes: number[] = [];
    for (let i = 0; i < 50; i++) {
      sizes.push(20_000 + i * 3_001);
      writeFileSync(join(dir, `in${i}`), randomBytes(sizes[i]!));
    }
    const r = await rig.sh(
      `cd ${dir} && for i in $(seq 0 49); do (nc -N ${DEVICE_IP} 7 < in$i > out$i; echo $? > rc$i) & done; wait`,
      { timeoutMs: 60_000 });
    expect(r.status).to.equal(0);
    for (let i = 0; i < 50; i++) {
      expect(readFileSync(join(dir, `rc${i}`), 'utf8').trim(), `nc ${i} exit status`).to.equal('0');
      const sent = readFileSync(join(dir, `in${i}`));
      const got = readFileSync(join(dir, `out${i}`));
      expect(got.length, `connection ${i}: octets back`).to.equal(sent.length);
      expect(sha256(got), `connection ${i}: SHA-256`).to.equal(sha256(sent));
      echoed += sent.length;
    }
    await rig.assertClean();
  });

  it('echo: 5 MiB of random data come back with the same SHA-256', async () => {
    const data = randomBytes(5 * MiB);
    writeFileSync(join(dir, 'echo.in'), data);
    const r = await rig.sh(`nc -N ${DEVICE_IP} 7 < ${dir}/echo.in`, { timeoutMs: 60_000 });
    expect(r.stdout.length).to.equal(data.length);
    expect(sha256(r.stdout)).to.equal(sha256(data));
    echoed += data.length;
    await rig.assertClean();
  });

  it('discard: 20 MiB are taken (and counted: see the last test)', async () => {
    writeFileSync(join(dir, 'discard.in'), randomBytes(20 * MiB));
    const r = await rig.sh(`nc -N ${DEVICE_IP} 9 < ${dir}/discard.in`, { timeoutMs: 60_000 });
    expect(r.stdout.length).to.equal(0);
    discarded += 20 * MiB;
    await rig.assertClean();
  });

  it('chargen: 1 MiB read follows the RFC 864 pattern', async () => {
    // nc -d: no stdin; head closes the pipe after 1 MiB, nc exits and the connection is reset.
    const r = await rig.sh(`nc -d ${DEVICE_IP} 19 | head -c ${MiB}`, { timeoutMs: 60_000 });
    expect(r.stdout.length).to.equal(MiB);
    expect(chargenMismatch(r.stdout)).to.equal(null);
    // The first line starts at the first printable character (space), as the service documents.
    expect(r.stdout.subarray(0, 74).toString('latin1')).to.equal(
      `${Array.from({ length: 72 }, (_, i) => String.fromCharCode(0x20 + i)).join('')}\r\n`);
    chargenRead += MiB;
    await rig.assertClean();
  });

  it('SIGTERM: the firmware exits 0 and its counters match what was sent', async () => {
    const code = await rig.stopFirmware();
    expect(code).to.equal(0);
    const m = /stopped: .*echoed (\d+) octets, discarded (\d+), chargen sent (\d+)/.exec(rig.firmware!.out);
    expect(m, rig.firmware!.out).to.not.equal(null);
    expect(Number(m![1]), 'echoed').to.equal(echoed);
    expect(Number(m![2]), 'discarded').to.equal(discarded);
    // chargen sends ahead of the reader: at least what was read.
    expect(Number(m![3]), 'chargen sent').to.be.at.least(chargenRead);
    await rig.assertHostSettled();
  });
});
