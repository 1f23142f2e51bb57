/**
 * Host connect killed with SIGKILL and started again (a crashed or killed host program): the
 * device keeps serving through it, and the new host connect works at once, with ping, echo and
 * a telnet session. The device sits behind a LineRelay (its UART, untouched by the host's
 * crash); host connect makes a fresh pty each time and the relay joins it to the line.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { LineRelay } from '../helpers/line-relay.ts';
import { DEVICE_IP, Rig, interopDescribe } from '../helpers/netns.ts';

interopDescribe('interop: kill -9 of host connect, and a restart', function () {
  this.timeout(120_000);
  const rig = new Rig();
  let relay: LineRelay | null = null;

  before(async () => {
    await rig.start({
      portFor: async (hostPty) => {
        relay = await LineRelay.open(hostPty);
        return relay.devicePath;
      },
    });
  });

  after(async () => {
    await rig.stop();
    await relay?.close();
  });

  it('the device keeps running, and the restarted host connect reaches it at once', async () => {
    const firstShell = await rig.shell();
    expect(await firstShell.command('echo before')).to.contain('before');
    firstShell.kill();

    rig.host!.child.kill('SIGKILL');
    await rig.host!.exited;
    await new Promise((r) => setTimeout(r, 500));
    expect(rig.firmware!.child.exitCode, 'the firmware keeps running').to.equal(null);

    // A new host connect, a new pty, the same line.
    rig.host = rig.spawnIn('node', ['--import', 'tsx', 'firmware-bridge/host-connect.ts', '--pty', '--tun', 'sl0']);
    const m = await rig.host.waitFor(/device side: (\/dev\/pts\/\d+)/);
    await relay!.attachHost(m[1]!);
    await rig.host.waitFor(/up: 192\.0\.2\.1/);
    const started = Date.now();
    const ping = await rig.execIn('ping', ['-c', '3', '-i', '0.2', '-W', '2', DEVICE_IP], { allowFail: true });
    expect(ping.stdout.toString(), 'ping through the new host connect').to.match(/3 received/);
    expect(Date.now() - started, 'at once: no wait for the device').to.be.below(5000);
    const data = randomBytes(100_000);
    const echo = await rig.execIn('nc', ['-N', '-w', '10', DEVICE_IP, '7'], { input: data });
    expect(Buffer.compare(echo.stdout, data), 'echo through the new host connect').to.equal(0);
    const shell = await rig.shell();
    expect(await shell.command('echo after')).to.contain('after');
    await shell.exit();
    await rig.assertClean(15_000);
  });
});
