/**
 * The texts the console flasher writes on a board (the systemd unit, the init script, the
 * commands that enable them), the upload's chunk command, and the progress line. The init
 * script runs for real in console.test.ts; here: the systemd side, which this machine cannot run,
 * and the exact forms.
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { duration, progressLine } from '../../firmware-bridge/host/progress.ts';
import { enableCommands, initScript, systemdUnit, type ServiceOptions } from '../../firmware-bridge/host/service.ts';
import { base64Lines, checkBoardPath, chunkCommand } from '../../firmware-bridge/host/upload.ts';

const SERVICE: ServiceOptions = {
  to: '/opt/slipstack', port: '/dev/ttymxc2', baud: 115200, firmwareArgs: ['--mtu', '1006'], passwordFile: true, takeOverConsole: null,
};

describe('flash: the boot service texts', () => {
  it('systemd unit: runs the launcher on the port, the password from a file, restarts on failure, wanted by multi-user', () => {
    expect(systemdUnit(SERVICE)).to.equal(`# Installed by slipstack's npm run flash -- --console ... --service /dev/ttymxc2
[Unit]
Description=slipstack firmware (TCP/IP over SLIP) on /dev/ttymxc2
After=local-fs.target

[Service]
Environment=SLIPSTACK_PASSWORD_FILE=/opt/slipstack/telnet-password
ExecStart=/opt/slipstack/current/slipstack --port /dev/ttymxc2 --baud 115200 --mtu 1006
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
`);
  });

  it('taking the console over (systemd): conflicts with its getty, quiets the kernel, masks the getty, starts 2 s after logout', () => {
    const o = { ...SERVICE, port: '/dev/ttymxc0', takeOverConsole: '/dev/ttymxc0' };
    const unit = systemdUnit(o);
    expect(unit).to.contain('Conflicts=serial-getty@ttymxc0.service\n');
    expect(unit).to.contain('ExecStartPre=-/bin/dmesg -n 1\n');
    expect(enableCommands(o, true)).to.deep.equal([
      'systemctl daemon-reload',
      'systemctl enable slipstack.service',
      'systemctl mask serial-getty@ttymxc0.service',
      "setsid sh -c 'sleep 2; systemctl stop serial-getty@ttymxc0.service; systemctl restart slipstack.service' >/dev/null 2>&1 </dev/null &",
    ]);
  });

  it('init script: valid sh with LSB headers, start/stop/restart/status; enabled with update-rc.d, chkconfig or busybox S99', () => {
    const script = initScript(SERVICE);
    expect(spawnSync('sh', ['-n'], { input: script }).status).to.equal(0);
    expect(script).to.contain('# Provides:          slipstack\n');
    expect(script).to.contain('nohup /opt/slipstack/current/slipstack --port /dev/ttymxc2 --baud 115200 --mtu 1006 >"$LOG" 2>&1 </dev/null &');
    expect(script).to.contain('SLIPSTACK_PASSWORD_FILE=$DIR/telnet-password\nexport SLIPSTACK_PASSWORD_FILE\n');
    expect(initScript({ ...SERVICE, passwordFile: false })).to.not.contain('SLIPSTACK_PASSWORD_FILE');
    const enable = enableCommands(SERVICE, false);
    expect(enable[1]).to.contain('update-rc.d slipstack defaults');
    expect(enable[1]).to.contain('ln -sf slipstack /etc/init.d/S99slipstack');
    expect(enable[2]).to.equal('/etc/init.d/slipstack restart');
  });
});

describe('flash: the upload\'s pieces', () => {
  it('a chunk goes as base64 in 76-character lines inside a here-document, answered with h=<16 hex>', () => {
    const data = Uint8Array.from({ length: 100 }, (_, i) => i);
    const cmd = chunkCommand(12, data);
    const lines = cmd.split('\n');
    expect(lines[0]).to.equal("base64 -d > p00012 <<'SLIPSTACK_EOF'");
    expect(lines[1]).to.have.length(76);
    expect(lines.slice(1, 3).join('')).to.equal(Buffer.from(data).toString('base64'));
    expect(lines[3]).to.equal('SLIPSTACK_EOF');
    expect(lines[4]).to.equal(`s=$?; [ $s -eq 0 ] && mv -f p00012 c00012; h=$(sha256sum < c00012 2>/dev/null); printf 'h=%.16s\\n' "$h"; [ $s -eq 0 ]`);
    // Nothing a terminal would act on: printable ASCII and newlines only.
    expect(/^[\x20-\x7e\n]*$/.test(cmd)).to.equal(true);
    expect(base64Lines(new Uint8Array(0))).to.equal('');
  });

  it('paths that go into board commands unquoted are checked', () => {
    expect(checkBoardPath('--to', '/opt/slipstack')).to.equal(null);
    expect(checkBoardPath('--to', 'opt')).to.match(/must be an absolute path/);
    expect(checkBoardPath('--to', '/opt/a b')).to.match(/must be an absolute path/);
    expect(checkBoardPath('--to', '/opt/$(reboot)')).to.match(/must be an absolute path/);
    expect(checkBoardPath('--to', '/opt/../etc')).to.match(/must be an absolute path/);
  });

  it('the progress line: bar, octets, rate, time left', () => {
    expect(progressLine(0, 1024 * 1024, 0)).to.equal('[....................]   0%  0.0 KiB / 1.00 MiB  -  ? left');
    expect(progressLine(512 * 1024, 1024 * 1024, 46_000)).to.equal('[##########..........]  50%  512.0 KiB / 1.00 MiB  11.1 KiB/s  46 s left');
    expect(progressLine(1024 * 1024, 1024 * 1024, 92_000)).to.equal('[####################] 100%  1.00 MiB / 1.00 MiB  11.1 KiB/s  done');
    expect(duration(185)).to.equal('3 min 05 s');
  });
});
