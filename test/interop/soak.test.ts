/**
 * One minute of the soak (`npm run soak`, test/helpers/soak.ts): the real firmware and host
 * connect through real ptys and a relay that drops octets and flips bits for a phase, mixed
 * traffic (telnet sessions with commands, echo and discard bulk with SHA-256, chargen checked
 * against RFC 864, pings with fragments, UDP echo, connections reset and refused). No error,
 * every pool slot back, both sides settled.
 */
import { expect } from 'chai';
import { interopDescribe } from '../helpers/netns.ts';
import { runSoak } from '../helpers/soak.ts';

interopDescribe('soak: one minute of mixed traffic over a real pty, with a loss and bit-flip phase', function () {
  this.timeout(240_000);

  it('moves and verifies data with 0 errors, and the pool ends where it started', async () => {
    const r = await runSoak({ seconds: 60 });
    // The list in the message itself: chai shortens the values it quotes, and an error's details matter.
    expect(r.soak_error_list.length, `errors:\n${r.soak_error_list.join('\n')}\n`).to.equal(0);
    expect(r.soak_errors).to.equal(0);
    expect(r.soak_pool_leak_slots, 'pool slots leaked').to.equal(0);
    expect(r.soak_octets_verified).to.be.greaterThan(1_000_000);
    expect(r.soak_connections_opened).to.be.greaterThan(50);
    expect(r.soak_telnet_sessions).to.be.greaterThan(0);
    expect(r.soak_ping_minutes.length).to.be.at.least(1);
    expect(r.soak_loss_phase).to.match(/octets dropped, \d+ bits flipped/);
  });
});
