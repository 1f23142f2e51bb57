/**
 * The telnet server's limits against a hostile or careless peer, in virtual time: the
 * device-wide budget of failed logins (login-limiter.ts), the idle deadline of a logged-in
 * shell, the slot a new login takes over, and the bounds of the shell's long-running commands.
 */
import { expect } from 'chai';
import { LoginLimiter } from '../../firmware-bridge/login-limiter.ts';
import type { TelnetServerOptions } from '../../firmware-bridge/telnet/server.ts';
import type { TelnetClient } from '../../support/telnet-client.ts';
import { checkPools } from '../helpers/pools.ts';
import {
  command, connect, expectText, finish, login, run, telnetWorld, type TelnetWorld,
} from '../helpers/telnet-world.ts';

const world = (server: Partial<TelnetServerOptions> = {}): TelnetWorld => telnetWorld({ server, limitMs: 60_000 });

describe('LoginLimiter: one budget of failed logins for the whole device', () => {
  it('allows `burst` failures, then backs off, doubling each time, until a success resets the doubling', () => {
    const l = new LoginLimiter({ burst: 3, ratePerSecond: 0.1, backoffMs: 1000, maxBackoffMs: 4000 });
    for (let i = 0; i < 3; i++) {
      expect(l.attempt(0)).to.equal(true);
      l.failed(0);
    }
    expect(l.attempt(0)).to.equal(true);
    l.failed(0);
    expect(l.stats.backoffs).to.equal(1);
    expect(l.attempt(999)).to.equal(false);
    expect(l.backoffLeft(500)).to.equal(500);
    expect(l.attempt(1000)).to.equal(true);
    l.failed(1000);
    expect(l.backoffLeft(1000)).to.equal(2000);
    l.failed(3000);
    expect(l.backoffLeft(3000)).to.equal(4000);
    l.failed(7000);
    expect(l.backoffLeft(7000), 'capped at maxBackoffMs').to.equal(4000);
    expect(l.stats.throttled).to.equal(1);
    l.succeeded();
    while (l.backoffLeft(11_000) === 0) l.failed(11_000);
    expect(l.backoffLeft(11_000), 'the doubling starts again after a success').to.equal(1000);
  });
});

describe('telnet server: limits against a hostile peer', function () {
  this.timeout(60_000);
  checkPools();

  it('guessing in parallel: six connections get no more checked guesses than the device-wide budget allows', () => {
    const limiter = new LoginLimiter({ burst: 4, ratePerSecond: 0.1, backoffMs: 5000, maxBackoffMs: 60_000 });
    const w = world({ loginLimiter: limiter, loginTimeoutMs: 0 });
    const guessers: TelnetClient[] = [];
    for (let i = 0; i < 6; i++) guessers.push(connect(w));
    const start = w.clock.now;
    const periodMs = 120_000;
    const reconnectAt = guessers.map(() => 0);
    // Every guesser types a wrong password at each prompt and reconnects (after 100 ms) when closed.
    run(w, () => {
      for (let i = 0; i < guessers.length; i++) {
        const g = guessers[i]!;
        if (g.has('Password: ')) {
          g.take('Password: ');
          g.line('guess');
        } else if (g.eof && reconnectAt[i] === 0) {
          reconnectAt[i] = w.clock.now + 100;
        } else if (g.eof && w.clock.now >= reconnectAt[i]! && w.pair.tcpA.used < w.pair.tcpA.sockets.length) {
          reconnectAt[i] = 0;
          guessers[i] = connect(w);
        }
      }
      return w.clock.now - start >= periodMs;
    }, periodMs + 1000);
    const checked = w.telnet.loginStats.failures;
    // Without the limit: 6 connections x one guess per 1 s pause = about 720 in 120 s.
    expect(checked, 'checked guesses').to.be.at.most(4 + 0.1 * 120 + 1);
    expect(limiter.stats.throttled, 'attempts refused unchecked').to.be.greaterThan(20);
    expect(limiter.stats.backoffs).to.be.at.least(1);
    for (const g of guessers) g.close();
    run(w, () => w.telnet.active === 0 && w.pair.tcpB.used === 0, 10 * 60_000);
    const stats = command(w, login(w, true), 'stats');
    expect(stats).to.match(/throttled \d+/).and.to.match(/backoffs \d+/);
    finish(w);
  });

  it('during a back-off even the right password is refused (and says why); after it, a new connection gets in', () => {
    const limiter = new LoginLimiter({ burst: 2, ratePerSecond: 0.01, backoffMs: 20_000 });
    const w = world({ loginLimiter: limiter });
    for (let i = 0; i < 3; i++) {
      const c = connect(w);
      expectText(w, c, 'Password: ');
      c.line('wrong');
      expectText(w, c, 'Login incorrect');
      c.close();
    }
    expect(limiter.backoffLeft(w.clock.now)).to.be.greaterThan(15_000);
    const owner = connect(w);
    expectText(w, owner, 'Password: ');
    owner.line(w.password);
    expect(expectText(w, owner, 'Password: ')).to.match(/Login refused: too many failed logins on this device; try again in \d+ s\r\n/);
    expect(w.telnet.loginStats.logins).to.equal(0);
    owner.close();
    run(w, () => limiter.backoffLeft(w.clock.now) === 0, 30_000);
    const later = login(w);
    expect(command(w, later, 'echo in')).to.contain('in\r\n');
    finish(w);
  });

  it('a logged-in shell silent for the idle timeout is closed with a message and counted; input keeps it open', () => {
    const w = world({ idleTimeoutMs: 60_000 });
    const busy = login(w);
    const quiet = login(w);
    for (let i = 0; i < 4; i++) {
      run(w, () => false, 30_000);
      command(w, busy, 'echo alive');
    }
    expect(quiet.eof).to.equal(true);
    expect(quiet.unread).to.equal('\r\nIdle for 60 seconds: logged out.\r\n');
    expect(busy.eof).to.equal(false);
    expect(w.telnet.loginStats.idleTimeouts).to.equal(1);
    finish(w);
  });

  it('idle timeout 0 never closes a shell', () => {
    const w = world({ idleTimeoutMs: 0 });
    const c = login(w);
    run(w, () => false, 3_600_000);
    expect(c.eof).to.equal(false);
    expect(command(w, c, 'echo still')).to.contain('still\r\n');
    finish(w);
  });

  it('slots full of idle shells: a new login takes over the oldest idle one, so the owner always gets in', () => {
    const w = world({ maxConnections: 3, idleTimeoutMs: 0 });
    const first = login(w);
    run(w, () => false, 10_000);
    const second = login(w);
    run(w, () => false, 10_000);
    // The third login fills the last slot: the longest idle shell (first) is closed behind it.
    const third = login(w);
    run(w, () => first.eof);
    expect(first.unread).to.match(/^\r\nSession closed: a new login needs the slot \(idle for \d+ seconds\)\.\r\n$/);
    expect(second.eof).to.equal(false);
    expect(w.telnet.loginStats.takeovers).to.equal(1);
    run(w, () => w.telnet.active === 2);
    // A peer at the password prompt takes nothing over: the free slot is simply used.
    const stranger = connect(w);
    expectText(w, stranger, 'Password: ');
    expect(second.eof).to.equal(false);
    expect(third.eof).to.equal(false);
    stranger.close();
    finish(w);
  });
});

