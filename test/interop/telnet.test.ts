/**
 * Real peer: the Debian `telnet` client, driven through its stdin, logs in to the device's shell
 * (issue 4 §5). Each line is typed once the device's prompt (or the password prompt) has
 * appeared; in character mode the client sends "\n" as CR LF.
 */
import { expect } from 'chai';
import { DEVICE_IP, HOST_IP, PROMPT, Rig, deviceBusySockets, interopDescribe } from '../helpers/netns.ts';

interopDescribe('interop: telnet to the device', function () {
  this.timeout(60_000);
  const rig = new Rig();

  before(async () => {
    await rig.start();
  });

  after(async () => {
    await rig.stop();
  });

  it('a scripted session logs in and runs help, netstat, stats, ping 192.0.2.1 -c 3, exit', async () => {
    const c = await rig.telnet();
    try {
      expect(c.text).to.contain(`Connected to ${DEVICE_IP}.`);
      expect(c.text).to.match(/\r\nslipstack \S+\r\n\r\nPassword: $/);
      const welcome = await c.login(rig.password);
      // The password is not echoed.
      expect(welcome).not.to.contain(rig.password);
      expect(welcome).to.contain('Logged in. Type help for the list of commands.\r\n');

      const help = await c.command('help');
      expect(help.startsWith('help\r\ncommands:\r\n')).to.equal(true, help);
      for (const name of ['help', 'version', 'uptime', 'ifconfig', 'netstat', 'stats', 'pool', 'ping <ip> [-c n]', 'xfer <ip> <port> <n>', 'echo <text>', 'exit, logout']) {
        expect(help).to.contain(`\r\n  ${name} `);
      }

      const port = await c.localPort(rig);
      const netstat = await c.command('netstat');
      expect(netstat).to.contain('Proto Recv-Q Send-Q Local Address          Foreign Address        State\r\n');
      for (const p of [7, 9, 19, 23]) expect(netstat).to.match(new RegExp(`\\r\\ntcp +0 +0 0\\.0\\.0\\.0:${p} +0\\.0\\.0\\.0:\\* +LISTEN\\r\\n`));
      expect(netstat).to.match(new RegExp(`\\r\\ntcp +0 +\\d+ ${DEVICE_IP.replace(/\./g, '\\.')}:23 +${HOST_IP.replace(/\./g, '\\.')}:${port} +ESTABLISHED\\r\\n`));
      expect(netstat).to.match(/\r\n\d+ of 64 TCP sockets in use\r\n$/);

      const stats = await c.command('stats');
      for (const section of ['ip', 'icmp', 'udp', 'tcp', 'link', 'telnet']) expect(stats).to.contain(`\r\n${section}:\r\n`);
      expect(stats).to.match(/\s+logins [1-9]\d*/);
      expect(stats).to.match(/\s+passiveOpens [1-9]\d*/);

      const ping = (await c.command('ping 192.0.2.1 -c 3', 15_000)).split('\r\n');
      expect(ping[0]).to.equal('ping 192.0.2.1 -c 3');
      expect(ping[1]).to.equal('PING 192.0.2.1 (192.0.2.1) 56(84) bytes of data.');
      for (let i = 1; i <= 3; i++) expect(ping[1 + i]).to.match(new RegExp(`^64 bytes from 192\\.0\\.2\\.1: icmp_seq=${i} time=\\d+ ms$`));
      expect(ping[6]).to.equal('--- 192.0.2.1 ping statistics ---');
      expect(ping[7]).to.match(/^3 packets transmitted, 3 received, 0% packet loss, time \d+ms$/);
      expect(ping[8]).to.match(/^rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/);

      const code = await c.exit();
      expect(c.unread).to.equal('');
      expect(c.proc.err).to.contain('Connection closed by foreign host.');
      expect(code).to.equal(0);
    } finally {
      c.kill();
    }
    await rig.assertClean();
  });

  it('refuses a wrong password, after a pause each time, and closes the connection after the third', async () => {
    const c = await rig.telnet();
    try {
      for (let i = 1; i <= 3; i++) {
        const typed = Date.now();
        c.type(`wrong-${i}\n`);
        await c.expect('Login incorrect\r\n', 5_000);
        // The device answers a wrong password only after its login delay (1 s).
        expect(Date.now() - typed).to.be.at.least(900);
        if (i < 3) await c.expect('Password: ', 5_000);
      }
      await c.expect('Too many failed logins.\r\n', 5_000);
      await c.closed(10_000);
      expect(c.proc.err).to.contain('Connection closed by foreign host.');
      expect(c.text).not.to.contain('Logged in');
      expect(c.text).not.to.contain(PROMPT);
    } finally {
      c.kill();
    }
    // The device counted it.
    const s = await rig.shell();
    try {
      const stats = await s.command('stats');
      expect(Number(/\sfailures (\d+)/.exec(stats)![1])).to.be.at.least(3);
      expect(Number(/\slockouts (\d+)/.exec(stats)![1])).to.be.at.least(1);
      await s.exit();
    } finally {
      s.kill();
    }
    await rig.assertClean();
  });

  it('serves a second session at the same time, each with its own state', async () => {
    const a = await rig.shell();
    const b = await rig.shell();
    try {
      expect(await a.command('uptime')).to.match(/^uptime\r\nup \d\d:\d\d:\d\d, 2 sessions\r\n$/);
      // a runs a command across polls while b works.
      a.type('ping 192.0.2.1 -c 3\n');
      await a.expect('icmp_seq=1 ', 5_000);
      expect(await b.command('echo from b')).to.equal('echo from b\r\nfrom b\r\n');
      const netstat = await b.command('netstat');
      const portA = await a.localPort(rig);
      const portB = await b.localPort(rig);
      expect(portA).to.not.equal(portB);
      // Seen from b, a's connection is busy (the check every test ends with would catch it).
      expect(deviceBusySockets(netstat, portB)).to.have.length(1);
      expect(deviceBusySockets(netstat, portB)[0]).to.contain(`${HOST_IP}:${portA} `);
      const ping = await a.expect(`\r\n${PROMPT}`, 10_000);
      expect(ping).to.contain('3 packets transmitted, 3 received, 0% packet loss');
      expect(ping).not.to.contain('from b');
      expect(b.text).not.to.contain('icmp_seq');
      expect(await a.exit()).to.equal(0);
      expect(await b.command('uptime')).to.match(/, 1 session\r\n$/);
      expect(await b.exit()).to.equal(0);
    } finally {
      a.kill();
      b.kill();
    }
    await rig.assertClean();
  });
});
