/**
 * The telnet server end to end: a small scripted telnet client on the peer stack (192.0.2.1)
 * talks to the device stack (192.0.2.2) over a memory device pair in virtual time. The client
 * answers negotiation like a Linux telnet client would (DO ECHO, DO SGA, WILL NAWS + window
 * size, refuses the rest), sends lines and collects the text. Then the pure parts: the RFC 1143
 * option machine, the NVT decoder and the output formatters.
 */
import { expect } from 'chai';
import {
  formatCounters, formatNetstat, formatPingReply, formatPingStart, formatPingSummary, formatUptime, parseCommandLine,
  parsePingArgs,
} from '../../firmware-bridge/telnet/format.ts';
import { Telnet, TelnetDecoder, TelnetOption, TelnetOptions, type TelnetHandler } from '../../firmware-bridge/telnet/protocol.ts';
import { TelnetServer, type TelnetServerOptions } from '../../firmware-bridge/telnet/server.ts';
import { SessionState } from '../../firmware-bridge/telnet/session.ts';
import { MemoryDevicePair } from '../../src/phy/memory.ts';
import { SocketError } from '../../src/socket/error.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { checkPools, testPool } from '../helpers/pools.ts';
import { stackPair } from '../helpers/tcp-sim.ts';
import {
  TELNET_TEST_PASSWORD, command, connect, expectText, finish, login, run, telnetWorld, type TelnetWorld,
} from '../helpers/telnet-world.ts';

const { IAC, WILL, WONT, DO, DONT, SB, SE, IP } = Telnet;
const { ECHO, SGA, NAWS } = TelnetOption;
const PASSWORD = TELNET_TEST_PASSWORD;
const world = (server: Partial<TelnetServerOptions> = {}): TelnetWorld => telnetWorld({ server });

describe('telnet server: sessions end to end', function () {
  this.timeout(60_000);
  checkPools();

  it('opens with IAC WILL ECHO, IAC WILL SGA, IAC DO NAWS, a banner and "Password: "; NAWS size is kept', () => {
    const w = world();
    const c = connect(w);
    expectText(w, c, 'Password: ');
    expect(c.raw.slice(0, 9)).to.deep.equal([IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, NAWS]);
    expect(c.text).to.equal('\r\nslipstack 1.2.3\r\n\r\nPassword: ');
    run(w, () => w.telnet.sessions[0]!.width !== 0);
    const session = w.telnet.sessions.find((s) => s.sock !== null)!;
    expect(session.width).to.equal(80);
    expect(session.height).to.equal(24);
    // The client's DO ECHO, DO SGA and WILL NAWS acknowledged our requests: nothing comes back.
    expect(c.negotiations).to.deep.equal(['WILL 1', 'WILL 3', 'DO 31']);
    finish(w);
  });

  it('refuses other options once, without loops (RFC 854, RFC 1143); DONT ECHO turns echo off', () => {
    const w = world();
    const c = connect(w);
    expectText(w, c, 'Password: ');
    run(w, () => false, 1000);
    c.autoNegotiate = false;
    const before = c.negotiations.length;
    // DO TERMINAL-TYPE -> WONT, WILL TERMINAL-TYPE -> DONT, WILL NEW-ENVIRON -> DONT.
    c.send([IAC, DO, 24, IAC, WILL, 24, IAC, WILL, 39]);
    run(w, () => c.negotiations.length >= before + 3);
    expect(c.negotiations.slice(before)).to.deep.equal(['WONT 24', 'DONT 24', 'DONT 39']);
    // Their acknowledgments (WONT, DONT for modes already off) get no answer at all.
    c.send([IAC, WONT, 24, IAC, DONT, 24, IAC, WONT, 39]);
    // SGA again (already on): no answer either. NAWS resize: just taken.
    c.send([IAC, DO, SGA, IAC, SB, NAWS, 0, 132, 0, 50, IAC, SE]);
    run(w, () => false, 1000);
    expect(c.negotiations.length).to.equal(before + 3);
    const session = w.telnet.sessions.find((s) => s.sock !== null)!;
    expect([session.width, session.height]).to.deep.equal([132, 50]);
    // Log in, then DONT ECHO: the server agrees (WONT ECHO) and stops echoing what is typed.
    c.line(PASSWORD);
    expectText(w, c, 'slipstack> ');
    c.sendText('echo one\r\n');
    expect(expectText(w, c, 'slipstack> ')).to.equal('echo one\r\none\r\nslipstack> ');
    c.send([IAC, DONT, ECHO]);
    run(w, () => c.negotiations.length === before + 4);
    expect(c.negotiations.at(-1)).to.equal('WONT 1');
    c.sendText('echo two\r\n');
    expect(expectText(w, c, 'slipstack> ')).to.equal('two\r\nslipstack> ');
    finish(w);
  });

  it('logs in with the right password and runs help, version, uptime, ifconfig, netstat, stats, pool, echo, exit', () => {
    // The clock jumps an hour below: no idle timeout here (telnet-limits.test.ts tests it).
    const w = world({ idleTimeoutMs: 0 });
    const c = connect(w);
    expectText(w, c, 'Password: ');
    c.line(PASSWORD);
    const welcome = expectText(w, c, 'slipstack> ');
    // The password is not echoed: only the line end.
    expect(welcome).to.equal('\r\nLogged in. Type help for the list of commands.\r\nslipstack> ');
    expect(w.telnet.loginStats.logins).to.equal(1);

    const help = command(w, c, 'help');
    expect(help.startsWith('help\r\n')).to.equal(true, 'the command line is echoed');
    for (const name of ['help', 'version', 'uptime', 'ifconfig', 'netstat', 'stats', 'pool', 'ping <ip> [-c n]', 'echo <text>', 'exit, logout']) {
      expect(help).to.contain(name);
    }
    // NVT: every line ends in CR LF, no bare LF.
    expect(/[^\r]\n/.test(help)).to.equal(false);

    expect(command(w, c, 'version')).to.equal(`version\r\nslipstack firmware 1.2.3\r\nimage sha256 ${'ab'.repeat(32)}\r\n`);

    w.clock.now += 3_725_000; // 1 h 2 min 5 s
    expect(command(w, c, 'uptime')).to.match(/^uptime\r\nup 01:02:0\d, 1 session\r\n$/);

    const ifconfig = command(w, c, 'ifconfig');
    expect(ifconfig).to.contain('sl0: flags=UP,POINTOPOINT,RUNNING  mtu 1500');
    expect(ifconfig).to.contain('inet 192.0.2.2  peer 192.0.2.1  mss 1460');
    expect(ifconfig).to.match(/RX packets \d+ {2}dropped 0/);
    expect(ifconfig).to.match(/link: rxFrames \d+/);

    const netstat = command(w, c, 'netstat');
    expect(netstat).to.contain('Proto Recv-Q Send-Q Local Address');
    expect(netstat).to.match(/tcp +0 +0 0\.0\.0\.0:23 +0\.0\.0\.0:\* +LISTEN/);
    expect(netstat).to.match(/tcp +0 +\d+ 192\.0\.2\.2:23 +192\.0\.2\.1:\d+ +ESTABLISHED/);
    expect(netstat).to.contain('1 of 8 TCP sockets in use');

    const stats = command(w, c, 'stats');
    for (const title of ['ip:', 'icmp:', 'udp:', 'tcp:', 'link:', 'telnet:']) expect(stats).to.contain(`\r\n${title}\r\n`);
    expect(stats).to.match(/ recv \d+ +xmit \d+/);
    expect(stats).to.match(/ passiveOpens 1 /);
    expect(stats).to.match(/ logins 1 /);
    expect(stats).to.match(/\r\n[\w-]+: max \d+ \/ size 128 {2}err 0\r\n/, 'the pool high-water mark');
    for (const line of stats.split('\r\n')) expect(line.length).to.be.at.most(78);

    const pool = command(w, c, 'pool');
    expect(pool).to.match(/pbuf: used \d+ \/ max \d+ \/ size 128 {2}err 0/);
    expect(pool).to.contain('reassembly: used 0 / size 2  (8192 octets each)');
    expect(pool).to.contain('tcp sockets: used 1 / size 8');

    expect(command(w, c, 'echo  hello,   world ')).to.equal('echo  hello,   world \r\nhello,   world\r\n');
    expect(command(w, c, 'frobnicate now')).to.equal('frobnicate now\r\nunknown command: frobnicate (try help)\r\n');
    expect(command(w, c, '')).to.equal('\r\n');

    c.line('exit');
    run(w, () => c.eof);
    expect(c.unread).to.equal('exit\r\nlogout\r\n');
    expect(c.eof).to.equal(true);
    run(w, () => w.telnet.active === 0);
    expect(w.telnet.stats).to.deep.include({ accepted: 1, closed: 1, errors: 0 });
    finish(w);
  });

  it('line editing: BS and DEL erase (echoed as BS SP BS); CR LF, CR NUL and a bare LF each end a line', () => {
    const w = world();
    const c = login(w);
    c.sendText('ecoh\x7f\x7fho hi\r\n');
    expect(expectText(w, c, 'slipstack> ')).to.equal('ecoh\b \b\b \bho hi\r\nhi\r\nslipstack> ');
    c.sendText('echo a\r\0');
    expect(expectText(w, c, 'slipstack> ')).to.equal('echo a\r\na\r\nslipstack> ');
    c.sendText('echo b\n');
    expect(expectText(w, c, 'slipstack> ')).to.equal('echo b\r\nb\r\nslipstack> ');
    c.sendText('echo x\x08y\r\n');
    expect(expectText(w, c, 'slipstack> ')).to.equal('echo x\b \by\r\ny\r\nslipstack> ');
    // Backspace on an empty line does nothing; Ctrl-C abandons the line.
    c.sendText('\x7fecho lost\x03');
    expect(expectText(w, c, 'slipstack> ')).to.equal('echo lost^C\r\nslipstack> ');
    c.line('logout');
    run(w, () => c.eof);
    expect(c.unread).to.equal('logout\r\nlogout\r\n');
    finish(w);
  });

  it('three wrong passwords close the connection; each failure answers only after the delay and is counted', () => {
    const w = world();
    const c = connect(w);
    expectText(w, c, 'Password: ');
    for (let attempt = 1; attempt <= 3; attempt++) {
      c.line(`wrong${attempt}`);
      run(w, () => w.telnet.loginStats.failures === attempt);
      const failedAt = w.clock.now;
      run(w, () => c.has('Login incorrect'));
      expect(w.clock.now - failedAt, 'delay before "Login incorrect"').to.be.at.least(1000);
      expect(c.take('Login incorrect\r\n')).to.equal('\r\nLogin incorrect\r\n');
      if (attempt < 3) expectText(w, c, 'Password: ');
    }
    run(w, () => c.eof);
    expect(c.unread).to.equal('Too many failed logins.\r\n');
    expect(c.eof).to.equal(true);
    expect(w.telnet.loginStats).to.deep.include({ logins: 0, failures: 3, lockouts: 1 });
    run(w, () => w.telnet.active === 0);
    finish(w);
  });

  it('a wrong password then the right one logs in; nobody logging in within the timeout is closed', () => {
    const w = world({ loginTimeoutMs: 30_000 });
    const c = connect(w);
    expectText(w, c, 'Password: ');
    c.line('nope');
    expectText(w, c, 'Login incorrect\r\nPassword: ');
    c.line(PASSWORD);
    expectText(w, c, 'slipstack> ');
    expect(w.telnet.loginStats).to.deep.include({ logins: 1, failures: 1 });
    const idle = connect(w);
    expectText(w, idle, 'Password: ');
    const start = w.clock.now;
    run(w, () => idle.eof, 60_000);
    expect(idle.eof).to.equal(true);
    expect(w.clock.now - start).to.be.at.least(29_000);
    expect(idle.unread).to.equal('\r\nLogin timed out after 30 seconds.\r\n');
    expect(w.telnet.loginStats.timeouts).to.equal(1);
    // The logged-in session is not affected.
    expect(command(w, c, 'echo still here')).to.contain('still here');
    finish(w);
  });

  it('ping <peer> -c 3 prints three replies and the summary, across polls', () => {
    const w = world();
    const c = login(w);
    c.line('ping 192.0.2.1 -c 3');
    const out = expectText(w, c, 'slipstack> ', 30_000).slice(0, -'slipstack> '.length);
    const lines = out.split('\r\n');
    expect(lines[0]).to.equal('ping 192.0.2.1 -c 3');
    expect(lines[1]).to.equal('PING 192.0.2.1 (192.0.2.1) 56(84) bytes of data.');
    for (let i = 1; i <= 3; i++) expect(lines[1 + i]).to.match(new RegExp(`^64 bytes from 192\\.0\\.2\\.1: icmp_seq=${i} time=\\d+ ms$`));
    expect(lines[5]).to.equal('');
    expect(lines[6]).to.equal('--- 192.0.2.1 ping statistics ---');
    expect(lines[7]).to.match(/^3 packets transmitted, 3 received, 0% packet loss, time 20\d\dms$/);
    expect(lines[8]).to.match(/^rtt min\/avg\/max\/mdev = \d+\.\d{3}\/\d+\.\d{3}\/\d+\.\d{3}\/\d+\.\d{3} ms$/);
    expect(w.pair.a.stats.icmp.echoReplied).to.equal(3);
    expect(w.pair.b.stats.icmp.echoDelivered).to.equal(3);
    // The ICMP socket left the table with the ping.
    expect(w.pair.b.icmpSockets.used).to.equal(0);
    finish(w);
  });

  it('a ping to nobody reports 100% loss; bad arguments are explained', () => {
    const w = world();
    const c = login(w);
    expect(command(w, c, 'ping')).to.equal('ping\r\nusage: ping <ip> [-c n] [-s size] [-i secs]\r\n');
    expect(command(w, c, 'ping 300.1.1.1')).to.contain('ping: 300.1.1.1: not an IPv4 address');
    expect(command(w, c, 'ping 192.0.2.1 -c 0')).to.contain('ping: invalid count');
    // 192.0.2.9 is not on the link: the peer drops the requests (not its address).
    const out = command(w, c, 'ping 192.0.2.9 -c 2');
    expect(out).to.contain('2 packets transmitted, 0 received, 100% packet loss');
    expect(out).not.to.contain('rtt');
    finish(w);
  });

  it('ping refuses a count, size or interval past its limits with a clear message; -s and -i are used', () => {
    const w = world();
    const c = login(w);
    expect(command(w, c, 'ping 192.0.2.1 -c 1001')).to.contain('ping: invalid count: use -c 1..1000\r\n');
    expect(command(w, c, 'ping 192.0.2.1 -c 99999999999')).to.contain('ping: invalid count');
    expect(command(w, c, 'ping 192.0.2.1 -s 513')).to.contain('ping: invalid size: use -s 8..512 octets\r\n');
    expect(command(w, c, 'ping 192.0.2.1 -s 7')).to.contain('ping: invalid size');
    expect(command(w, c, 'ping 192.0.2.1 -i 0.1')).to.contain('ping: invalid interval: use -i 0.2..10 seconds\r\n');
    expect(command(w, c, 'ping 192.0.2.1 -i 11')).to.contain('ping: invalid interval');
    expect(w.telnet.loginStats.commandsRefused, 'each refusal counted (stats: commandsRefused)').to.equal(6);
    const start = w.clock.now;
    const out = command(w, c, 'ping 192.0.2.1 -c 3 -s 500 -i 0.2');
    expect(out).to.contain('PING 192.0.2.1 (192.0.2.1) 500(528) bytes of data.');
    expect(out).to.match(/508 bytes from 192\.0\.2\.1: icmp_seq=3 /);
    expect(out).to.contain('3 packets transmitted, 3 received, 0% packet loss');
    expect(w.clock.now - start, 'three requests 200 ms apart').to.be.below(1000);
    finish(w);
  });

  it('ping without -c stops by itself after 1000 requests', () => {
    const w = world({ pingIntervalMs: 200 });
    const c = login(w);
    c.line('ping 192.0.2.1');
    const out = expectText(w, c, 'slipstack> ', 400_000);
    expect(out).to.contain('1000 packets transmitted, 1000 received, 0% packet loss');
    finish(w);
  });

  it('Ctrl-C as IAC IP stops a running ping with ^C and the summary; a raw ^C (0x03) does too', () => {
    const w = world();
    const c = login(w);
    c.line('ping 192.0.2.1');
    expectText(w, c, 'icmp_seq=2 ');
    c.send([IAC, IP]);
    const out = expectText(w, c, 'slipstack> ');
    expect(out).to.contain('^C\r\n--- 192.0.2.1 ping statistics ---\r\n');
    expect(out).to.match(/\r\n[23] packets transmitted, [23] received, 0% packet loss/);
    const session = w.telnet.sessions.find((s) => s.sock !== null)!;
    expect(session.state).to.equal(SessionState.Shell);
    // The shell works on afterwards, and a second ping can be stopped by a plain Ctrl-C octet.
    expect(command(w, c, 'echo after')).to.contain('after\r\n');
    c.line('ping 192.0.2.1');
    expectText(w, c, 'icmp_seq=1 ');
    c.sendText('typed while running\x03');
    const out2 = expectText(w, c, 'slipstack> ');
    expect(out2).to.contain('^C\r\n--- 192.0.2.1 ping statistics ---');
    expect(out2).not.to.contain('typed');
    expect(w.pair.b.icmpSockets.used).to.equal(0);
    finish(w);
  });

  it('runs two sessions at once, each with its own state (one pings while the other types)', () => {
    const w = world();
    const first = login(w);
    const second = login(w);
    expect(w.telnet.active).to.equal(2);
    first.line('ping 192.0.2.1 -c 3');
    second.line('echo from two');
    expect(expectText(w, second, 'slipstack> ')).to.equal('echo from two\r\nfrom two\r\nslipstack> ');
    const netstat = command(w, second, 'netstat');
    expect(netstat.match(/192\.0\.2\.2:23 +192\.0\.2\.1:\d+ +ESTABLISHED/g)).to.have.length(2);
    expect(command(w, second, 'uptime')).to.contain('2 sessions');
    const ping = expectText(w, first, 'slipstack> ');
    expect(ping).to.contain('3 packets transmitted, 3 received, 0% packet loss');
    expect(ping).not.to.contain('from two');
    second.line('exit');
    run(w, () => second.eof);
    expect(command(w, first, 'echo one left')).to.contain('one left\r\n');
    expect(w.telnet.active).to.equal(1);
    finish(w);
  });

  it('a client that goes away ends its session; the slot is reused', () => {
    const w = world({ maxConnections: 1 });
    const c = login(w);
    c.sock.abort();
    c.sock.close();
    c.closed = true;
    run(w, () => w.telnet.active === 0);
    expect(w.telnet.stats.errors).to.equal(1);
    const again = login(w);
    expect(command(w, again, 'echo back')).to.contain('back\r\n');
    // A peer FIN (half close) ends the session too, with a clean close.
    again.sock.shutdown();
    run(w, () => again.eof);
    run(w, () => w.telnet.active === 0);
    finish(w);
  });

  it('refuses to start without a password', () => {
    const link = new MemoryDevicePair(testPool(), testPool());
    const pair = stackPair(link.a, link.b);
    expect(() => new TelnetServer(pair.b, pair.tcpB, { password: '' })).to.throw(RangeError, /password/);
    link.close();
  });
});

/**
 * Stands in for a TcpSocket where the TCP API cannot help: the peer's TcpSocket has no way to
 * send urgent data, so a Synch (RFC 854: IAC DM sent urgent) is played from here.
 */
class FakeSocket {
  readonly rx: number[] = [];
  readonly tx: number[] = [];
  urgent = -1;
  remoteClosed = false;
  get recvQueue(): number {
    return this.rx.length;
  }
  get readable(): boolean {
    return this.rx.length > 0 || this.remoteClosed;
  }
  get sendSpace(): number {
    return 65536;
  }
  get urgentMark(): number {
    return this.urgent;
  }
  recv(dst: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.rx.length);
    for (let i = 0; i < n; i++) dst[off + i] = this.rx[i]!;
    this.rx.splice(0, n);
    if (this.urgent >= 0) {
      this.urgent -= n;
      if (this.urgent <= 0) this.urgent = -1;
    }
    if (n > 0) return n;
    return this.remoteClosed ? 0 : SocketError.WouldBlock;
  }
  send(src: Uint8Array, off: number, len: number): number {
    for (let i = 0; i < len; i++) this.tx.push(src[off + i]!);
    return len;
  }
  /** What the session wrote, commands removed, as text. */
  text(): string {
    let t = '';
    for (let i = 0; i < this.tx.length; i++) {
      if (this.tx[i] === IAC) i += 2;
      else t += String.fromCharCode(this.tx[i]!);
    }
    this.tx.length = 0;
    return t;
  }
}

describe('telnet session: Synch (urgent data) and other commands', () => {
  checkPools();

  function fakeSession() {
    const link = new MemoryDevicePair(testPool(), testPool());
    const pair = stackPair(link.a, link.b);
    const server = new TelnetServer(pair.b, pair.tcpB, { password: 'pw', loginTimeoutMs: 0 });
    const sock = new FakeSocket();
    const session = server.sessions[0]!;
    session.open(0, sock as unknown as TcpSocket);
    const type = (text: string | number[]) => {
      if (typeof text === 'string') for (let i = 0; i < text.length; i++) sock.rx.push(text.charCodeAt(i));
      else sock.rx.push(...text);
      for (let i = 0; i < 10 && session.poll(0); i++) { /* until quiet */ }
    };
    type('pw\r\n');
    sock.text();
    return { session, sock, type, close: () => { session.reset(); server.close(); link.close(); } };
  }

  it('discards data up to the urgent mark but acts on the IAC IP inside it', () => {
    const { sock, type, close } = fakeSession();
    // Typed-ahead junk, then IAC IP and the Synch's IAC DM; the urgent mark ends after the DM.
    const synch = [...'echo junk'].map((ch) => ch.charCodeAt(0)).concat([IAC, IP, IAC, Telnet.DM]);
    sock.urgent = synch.length;
    type(synch);
    expect(sock.text()).to.equal('^C\r\nslipstack> ');
    type('echo ok\r\n');
    expect(sock.text()).to.equal('echo ok\r\nok\r\nslipstack> ');
    close();
  });

  it('answers AYT, and EC / EL edit the line', () => {
    const { sock, type, close } = fakeSession();
    type([IAC, Telnet.AYT]);
    expect(sock.text()).to.equal('\r\n[slipstack: yes]\r\n');
    type([...'echo abX'].map((ch) => ch.charCodeAt(0)).concat([IAC, Telnet.EC], [...'c\r\n'].map((ch) => ch.charCodeAt(0))));
    expect(sock.text()).to.equal('echo abX\b \bc\r\nabc\r\nslipstack> ');
    type([...'garbage'].map((ch) => ch.charCodeAt(0)).concat([IAC, Telnet.EL], [...'echo z\r\n'].map((ch) => ch.charCodeAt(0))));
    expect(sock.text()).to.match(/echo z\r\nz\r\nslipstack> $/);
    close();
  });
});

// -----------------------------------------------------------------------------------------------

class RecordingHandler implements TelnetHandler {
  readonly events: string[] = [];
  telnetData(byte: number): void {
    this.events.push(`data ${byte}`);
  }
  telnetCommand(command: number): void {
    this.events.push(`cmd ${command}`);
  }
  telnetNegotiation(verb: number, option: number): void {
    this.events.push(`neg ${verb} ${option}`);
  }
  telnetSubnegotiation(option: number, bytes: Uint8Array, len: number): void {
    this.events.push(`sb ${option} ${Array.from(bytes.subarray(0, len)).join(',')}`);
  }
}

function decode(bytes: number[], decoder = new TelnetDecoder(8)): string[] {
  const h = new RecordingHandler();
  for (const b of bytes) decoder.feed(b, h);
  return h.events;
}

describe('telnet protocol: RFC 1143 option negotiation', () => {
  const options = () => new TelnetOptions([ECHO, SGA], [NAWS]);

  it('offers and requests: WILL/DO once, then nothing until answered', () => {
    const o = options();
    expect(o.askUs(ECHO)).to.equal(WILL);
    expect(o.askUs(ECHO)).to.equal(0);
    expect(o.askUs(24)).to.equal(0, 'never offer what is not supported');
    expect(o.askHim(NAWS)).to.equal(DO);
    expect(o.usEnabled(ECHO)).to.equal(false);
    expect(o.usEnabledOrAsked(ECHO)).to.equal(true);
    // The answers acknowledge: no reply.
    expect(o.receive(DO, ECHO)).to.equal(0);
    expect(o.receive(WILL, NAWS)).to.equal(0);
    expect(o.usEnabled(ECHO)).to.equal(true);
    expect(o.himEnabled(NAWS)).to.equal(true);
    // Repeats of a mode in effect are not acknowledged (RFC 854).
    expect(o.receive(DO, ECHO)).to.equal(0);
    expect(o.receive(WILL, NAWS)).to.equal(0);
  });

  it('refuses unsupported options and ignores their acknowledgments', () => {
    const o = options();
    expect(o.receive(DO, 24)).to.equal(WONT);
    expect(o.receive(WILL, 24)).to.equal(DONT);
    expect(o.receive(DONT, 24)).to.equal(0);
    expect(o.receive(WONT, 24)).to.equal(0);
    expect(o.receive(DO, 24)).to.equal(WONT, 'a fresh request is refused again');
  });

  it('always honours a request to disable, and a refusal of our offer is final', () => {
    const o = options();
    expect(o.receive(DO, SGA)).to.equal(WILL);
    expect(o.receive(DONT, SGA)).to.equal(WONT);
    expect(o.usEnabled(SGA)).to.equal(false);
    expect(o.askUs(ECHO)).to.equal(WILL);
    expect(o.receive(DONT, ECHO)).to.equal(0);
    expect(o.usEnabledOrAsked(ECHO)).to.equal(false);
    expect(o.receive(WILL, NAWS)).to.equal(DO, 'an unasked offer of a supported option is accepted');
    expect(o.receive(WONT, NAWS)).to.equal(DONT);
  });
});

describe('telnet protocol: NVT decoder', () => {
  it('passes data, turns CR LF / CR NUL / LF into one CR, undoes IAC IAC', () => {
    expect(decode([0x61, 0x0d, 0x0a, 0x62, 0x0d, 0x00, 0x63, 0x0a, 0xff, 0xff])).to.deep.equal([
      'data 97', 'data 13', 'data 98', 'data 13', 'data 99', 'data 13', 'data 255',
    ]);
  });

  it('reports commands and negotiations, also split across feeds', () => {
    const d = new TelnetDecoder();
    const h = new RecordingHandler();
    for (const b of [IAC, IP, IAC]) d.feed(b, h);
    for (const b of [DO, 24, IAC, Telnet.AYT]) d.feed(b, h);
    expect(h.events).to.deep.equal([`cmd ${IP}`, `neg ${DO} 24`, `cmd ${Telnet.AYT}`]);
  });

  it('collects subnegotiations with IAC IAC undone; drops ones too long for the buffer', () => {
    const d = new TelnetDecoder(4);
    expect(decode([IAC, SB, NAWS, 0, 255, 255, 0, 24, IAC, SE, 0x41], d)).to.deep.equal([`sb ${NAWS} 0,255,0,24`, 'data 65']);
    expect(decode([IAC, SB, 24, 0, 1, 2, 3, 4, 5, IAC, SE, 0x42], d)).to.deep.equal(['data 66']);
    expect(d.sbOverflows).to.equal(1);
  });
});

describe('telnet shell: output formatting', () => {
  it('parseCommandLine splits the command word, arguments and the rest as typed', () => {
    expect(parseCommandLine('  echo  a   b ')).to.deep.equal({ command: 'echo', args: ['a', 'b'], rest: 'a   b' });
    expect(parseCommandLine('')).to.deep.equal({ command: '', args: [], rest: '' });
  });

  it('parsePingArgs takes an address and -c n, and explains mistakes', () => {
    expect(parsePingArgs(['192.0.2.1'])).to.deep.equal({ address: HOST_A, count: 0 });
    expect(parsePingArgs(['-c', '5', '192.0.2.1'])).to.deep.equal({ address: HOST_A, count: 5 });
    expect(parsePingArgs(['192.0.2.1', '-c'])).to.be.a('string');
    expect(parsePingArgs(['192.0.2.1', '-x'])).to.match(/unknown option -x/);
    expect(parsePingArgs(['1.2.3'])).to.match(/not an IPv4 address/);
    expect(parsePingArgs(['192.0.2.1', '-s', '100', '-i', '1.5'])).to.deep.equal({ address: HOST_A, count: 0, dataLen: 100, intervalMs: 1500 });
  });

  it('formats ping lines like iputils', () => {
    expect(formatPingStart(HOST_A, 56)).to.equal('PING 192.0.2.1 (192.0.2.1) 56(84) bytes of data.\n');
    expect(formatPingReply(64, HOST_A, 7, 12, false)).to.equal('64 bytes from 192.0.2.1: icmp_seq=7 time=12 ms\n');
    expect(formatPingReply(64, HOST_A, 7, 12, true)).to.equal('64 bytes from 192.0.2.1: icmp_seq=7 time=12 ms (DUP!)\n');
    const summary = formatPingSummary({
      address: HOST_A, transmitted: 4, received: 3, duplicates: 0, errors: 0, elapsedMs: 3005,
      rttMinMs: 1, rttMaxMs: 3, rttSumMs: 6, rttSumSquaresMs: 14,
    });
    expect(summary).to.equal(
      '\n--- 192.0.2.1 ping statistics ---\n' +
      '4 packets transmitted, 3 received, 25% packet loss, time 3005ms\n' +
      'rtt min/avg/max/mdev = 1.000/2.000/3.000/0.816 ms\n');
  });

  it('formats uptime, counters and netstat', () => {
    expect(formatUptime(90_061_000, 1)).to.equal('up 1 day, 01:01:01, 1 session\n');
    expect(formatUptime(5000, 3)).to.equal('up 00:00:05, 3 sessions\n');
    expect(formatCounters('x', { a: 1, nested: { b: 2 }, skip: 'text' })).to.equal('x:\n  a 1  nested.b 2\n');
    const wide = formatCounters('w', Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`counter${i}`, i * 1000])));
    for (const line of wide.split('\n')) expect(line.length).to.be.at.most(78);
    const netstat = formatNetstat([23], [
      { inUse: true, stateName: 'ESTABLISHED', localAddr: HOST_B, localPort: 23, remoteAddr: HOST_A, remotePort: 40000, recvQueue: 3, sendQueue: 120 },
      { inUse: false, stateName: 'CLOSED', localAddr: 0, localPort: 0, remoteAddr: 0, remotePort: 0, recvQueue: 0, sendQueue: 0 },
    ], 2);
    expect(netstat).to.equal(
      'Proto Recv-Q Send-Q Local Address          Foreign Address        State\n' +
      'tcp        0      0 0.0.0.0:23             0.0.0.0:*              LISTEN\n' +
      'tcp        3    120 192.0.2.2:23           192.0.2.1:40000        ESTABLISHED\n' +
      '1 of 2 TCP sockets in use\n');
  });
});
