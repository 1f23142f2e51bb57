/**
 * Latency to the floor: a frame that completes a request is answered in the same instant of
 * virtual time that received it (no timer in between), over a link that itself costs no time.
 */
import { expect } from 'chai';
import { IcmpSocket } from '../../src/socket/icmp.ts';
import { HOST_B } from '../../support/addresses.ts';
import { checkPools } from '../helpers/pools.ts';
import { finish, login, run, telnetWorld } from '../helpers/telnet-world.ts';

describe('latency: answers in the same turn', () => {
  checkPools();

  it('a telnet keystroke is echoed, and a ping answered, at the virtual instant they arrive', () => {
    const w = telnetWorld();
    const client = login(w);
    run(w, () => false, 1000); // let every delayed ACK and timer of the login go
    for (let i = 0; i < 5; i++) {
      const before = client.raw.length;
      const t0 = w.clock.now;
      client.send([0x61 + i]);
      expect(run(w, () => client.raw.length > before, 1000)).to.equal(true);
      expect(w.clock.now - t0, `keystroke ${i}`).to.equal(0);
      expect(client.raw[before]).to.equal(0x61 + i);
      run(w, () => false, 100 + i * 17);
    }
    const icmp = new IcmpSocket({ rxBuffer: new Uint8Array(512), txBuffer: new Uint8Array(512) });
    icmp.bind(0x31);
    w.pair.a.addIcmpSocket(icmp);
    const reply = new Uint8Array(64);
    const t0 = w.clock.now;
    icmp.sendEcho(HOST_B, 1, reply, 0, 56);
    expect(run(w, () => icmp.recvEcho(reply, 0, 64) === 56, 1000)).to.equal(true);
    expect(w.clock.now - t0).to.equal(0);
    w.pair.a.removeIcmpSocket(icmp);
    client.line('exit');
    finish(w);
  });
});
