/**
 * Real peers for the web console: `curl` and Debian's `chromium` (headless, driven by
 * playwright-core, never a downloaded browser) inside the test's own network namespace, through
 * host connect, against the firmware process. curl: 401 without the password, keep-alive (two
 * requests, one connection), 404, a malformed request line (400, and the device carries on).
 * Chromium: loads http://192.0.2.2/ with the password, the charts and tables render, the numbers
 * match what telnet's `stats` prints, and the page keeps updating. A screenshot goes to
 * .tmp/test-output/ (git-ignored).
 */
import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { DEVICE_IP, Rig, interopDescribe } from '../helpers/netns.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUTPUT = join(ROOT, '.tmp', 'test-output');

/** The counter `name` of section `section` in the shell's `stats` output. */
function counter(stats: string, section: string, name: string): number {
  const start = stats.indexOf(`\r\n${section}:\r\n`);
  expect(start, `section ${section} in stats`).to.be.at.least(0);
  const rest = stats.slice(start + section.length + 5);
  const end = rest.search(/\r\n\w+:\r\n/);
  const block = end < 0 ? rest : rest.slice(0, end);
  const m = new RegExp(`(?:^|\\s)${name} (\\d+)`).exec(block);
  expect(m, `${section}.${name} in stats`).to.not.equal(null);
  return Number(m![1]);
}

interopDescribe('interop: the web console from curl and a real browser', function () {
  this.timeout(120_000);
  const rig = new Rig();
  const url = `http://${DEVICE_IP}/`;

  before(async () => {
    await rig.start();
  });

  after(async () => {
    await rig.stop();
  });

  it('curl: 401 without the password, keep-alive, 404, a malformed request line gets 400 and the device carries on', async () => {
    const noAuth = await rig.execIn('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', url]);
    expect(noAuth.stdout.toString()).to.equal('401');
    const wrong = await rig.execIn('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-u', 'admin:not-it', url]);
    expect(wrong.stdout.toString()).to.equal('401');

    // Two requests on one curl command line: the second reuses the connection (num_connects 0).
    const two = await rig.execIn('curl', ['-s', '-u', `admin:${rig.password}`, '-w', '%{http_code} %{num_connects}\\n',
      '-o', '/dev/null', `${url}api/stats`, '-o', '/dev/null', `${url}nope`]);
    expect(two.stdout.toString()).to.equal('200 1\n404 0\n');

    const json = await rig.execIn('curl', ['-s', '--compressed', '-u', `admin:${rig.password}`, `${url}api/stats`]);
    const doc = JSON.parse(json.stdout.toString());
    expect(doc.ifconfig.address).to.equal(DEVICE_IP);
    expect(doc.netstat.listen).to.include(80);

    // A request line that is not HTTP: 400, then the device closes that connection.
    const bad = await rig.sh(`printf 'NONSENSE\\r\\n\\r\\n' | nc -N -w 10 ${DEVICE_IP} 80`);
    expect(bad.stdout.toString()).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/);
    const after = await rig.execIn('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-u', `admin:${rig.password}`, url]);
    expect(after.stdout.toString()).to.equal('200');
    await rig.assertClean();
  });

  it('chromium renders the page with the password; its numbers match telnet stats, and it keeps updating', async function () {
    // Counters that stay still while the page loads: echo requests answered and ICMP received.
    await rig.execIn('ping', ['-c', '3', '-i', '0.2', DEVICE_IP]);
    const shell = await rig.shell();
    let stats: string;
    try {
      stats = await shell.command('stats');
      await shell.exit();
    } finally {
      shell.kill();
    }
    const echoReplied = counter(stats, 'icmp', 'echoReplied');
    const icmpRecv = counter(stats, 'icmp', 'recv');
    const logins = counter(stats, 'telnet', 'logins');
    expect(echoReplied).to.be.at.least(3);

    // Chromium runs inside the namespace: playwright starts this wrapper as the browser (with a
    // fresh profile directory of its own, as --user-data-dir would give).
    const dir = mkdtempSync(join(tmpdir(), 'slipstack-chromium-'));
    const wrapper = join(dir, 'chromium-in-netns');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${rig.ns} /usr/bin/chromium "$@"\n`);
    chmodSync(wrapper, 0o755);
    const browser = await chromium.launch({
      executablePath: wrapper,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    try {
      const context = await browser.newContext({ httpCredentials: { username: 'admin', password: rig.password } });
      const page = await context.newPage();
      const response = await page.goto(url);
      expect(response?.status()).to.equal(200);
      // Expressions run in the page (this file is compiled without the DOM's types).
      await page.waitForFunction('Number(document.getElementById("n").textContent) >= 2', undefined, { timeout: 30_000 });

      const cell = (k: string): Promise<number> => page.$eval(`#stats td[data-k="${k}"]`, (td) => Number(td.textContent));
      expect(await cell('icmp.echoReplied')).to.equal(echoReplied);
      expect(await cell('icmp.recv')).to.equal(icmpRecv);
      expect(await cell('telnet.logins')).to.equal(logins);
      expect(await page.textContent('#ver')).to.match(/\S/);
      expect(await page.textContent('#sha')).to.match(/^[0-9a-f]{64}$/);
      expect(Number(await page.textContent('#ps'))).to.equal(64);
      // Its own connection is in the table, and the drops table lists counters by name.
      const conns = await page.$$eval('#conns tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
      expect(conns.some((row) => row.includes(`${DEVICE_IP}:80`) && row.includes('ESTABLISHED'))).to.equal(true, conns.join('\n'));
      expect(await page.$$eval('#drops td[data-k]', (tds) => tds.length)).to.be.greaterThan(10);
      // The charts have been drawn on.
      const drawn = await page.evaluate(`['thr', 'pool'].map((id) => {
        const c = document.getElementById(id);
        return c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v) => v !== 0);
      })`);
      expect(drawn).to.deep.equal([true, true]);

      // It keeps updating: the counter of updates and the device's uptime move on.
      const n = Number(await page.textContent('#n'));
      await page.waitForFunction(`Number(document.getElementById("n").textContent) >= ${n + 2}`, undefined, { timeout: 30_000 });
      mkdirSync(OUTPUT, { recursive: true });
      const shot = join(OUTPUT, 'web-console.png');
      await page.screenshot({ path: shot, fullPage: true });
      this.test!.title += ` (screenshot: ${shot.slice(ROOT.length + 1)})`;
      await context.close();
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
    await rig.assertClean();
  });
}, ['ip', 'ss', 'ping', 'nc', 'telnet', 'curl', 'chromium']);
