/**
 * The web console in virtual time: the firmware's Board on one end of the in-memory SLIP link,
 * a peer stack on the other, and Node's own http client talking to it through slipstack/net
 * sockets (an Agent whose createConnection is our connect). Keep-alive, 401 without the
 * password, the login pause and lockout, 404, 405, a malformed request line, the JSON.
 */
import { expect } from 'chai';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Board } from '../../firmware-bridge/board.ts';
import { parseFirmwareArgs } from '../../firmware-bridge/cli.ts';
import { Interface } from '../../src/iface/interface.ts';
import { Network, VirtualLoop, connect } from '../../src/drivers/net/index.ts';
import { MemoryLinkPair } from '../../src/phy/memory.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import { HOST_A } from '../../support/addresses.ts';
import { checkPools, testPool } from '../helpers/pools.ts';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

function setup(keepAlive = true) {
  const pair = new MemoryLinkPair();
  const config = parseFirmwareArgs(['--port', 'none', '--password', 'pw'], {})!;
  const board = new Board({ link: pair.a, config, isnKey: [1, 2, 3, 4], version: 'test', imageSha256: 'ab'.repeat(32) });
  const tcp = new TcpStack({ sockets: 8, isnKey: [5, 6, 7, 8] });
  const iface = new Interface({ device: new SlipDevice(pair.b, testPool({ mtu: config.mtu })), address: HOST_A, tcp });
  const peer = new Network({ iface, tcp });
  const loop = new VirtualLoop([board, iface, peer], 1000);
  board.network!.attach(loop);
  peer.attach(loop);
  const agent = new http.Agent({ keepAlive, maxSockets: 1 });
  (agent as unknown as { createConnection: unknown }).createConnection = (_o: unknown, cb: () => void) =>
    connect({ host: '192.0.2.2', port: 80, network: peer }, cb);

  /** One request, run in virtual time until its answer is complete. */
  async function get(path: string, options: { auth?: string; method?: string; headers?: http.OutgoingHttpHeaders } = {}): Promise<Reply> {
    let reply: Reply | null = null;
    let failure: Error | null = null;
    const headers: http.OutgoingHttpHeaders = { ...options.headers };
    if (options.auth !== undefined) headers['Authorization'] = `Basic ${Buffer.from(options.auth).toString('base64')}`;
    const req = http.request({ host: '192.0.2.2', port: 80, path, agent, method: options.method ?? 'GET', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        reply = { status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts), at: loop.time };
      });
    });
    req.on('error', (e) => { failure = e; });
    req.end();
    const done = await loop.runUntil(() => reply !== null || failure !== null, 10_000);
    if (failure !== null) throw failure;
    expect(done, `no answer to ${path}`).to.equal(true);
    return reply!;
  }

  async function finish(): Promise<void> {
    agent.destroy();
    board.shutdown();
    await loop.runFor(200_000);
  }
  return { board, loop, get, peer, finish };
}

describe('web console (virtual time, node:http over slipstack/net)', function () {
  this.timeout(30_000);
  checkPools();

  it('asks for the password, serves the page and the JSON over one kept-alive connection, 404 and 405 else', async () => {
    const { board, get, finish } = setup();
    const none = await get('/');
    expect(none.status).to.equal(401);
    expect(none.headers['www-authenticate']).to.match(/^Basic realm="slipstack"/);

    const page = await get('/', { auth: 'admin:pw', headers: { 'Accept-Encoding': 'gzip' } });
    expect(page.status).to.equal(200);
    expect(page.headers['content-encoding']).to.equal('gzip');
    const html = gunzipSync(page.body).toString('utf8');
    expect(html).to.contain('<title>slipstack</title>');
    expect(html).to.not.match(/<script[^>]+src=|<link[^>]+stylesheet|https?:\/\//);

    const stats = await get('/api/stats', { auth: 'admin:pw' });
    expect(stats.status).to.equal(200);
    expect(stats.headers['content-type']).to.equal('application/json');
    const doc = JSON.parse(stats.body.toString('utf8'));
    expect(doc.sha256).to.equal('ab'.repeat(32));
    expect(doc.ifconfig.address).to.equal('192.0.2.2');
    expect(doc.netstat.listen).to.include.members([7, 9, 19, 23, 80]);
    expect(doc.stats.tcp.passiveOpens).to.equal(board.tcp.stats.passiveOpens);
    expect(doc.stats.icmp).to.deep.equal(board.iface.stats.icmp);
    expect(doc.netstat.sockets.some((s: { local: string; state: string }) => s.local === '192.0.2.2:80' && s.state === 'ESTABLISHED')).to.equal(true);

    expect((await get('/nope', { auth: 'admin:pw' })).status).to.equal(404);
    expect((await get('/', { auth: 'admin:pw', method: 'POST' })).status).to.equal(405);
    // Every request so far on one connection (HTTP/1.1 keep-alive), one login counted.
    expect(board.tcp.stats.passiveOpens).to.equal(1);
    expect(board.web!.stats.logins).to.equal(1);
    expect(board.web!.stats.requests).to.equal(5);
    await finish();
  });

  it('a wrong password is answered after the login pause, counted, and the third closes the connection', async () => {
    const { board, get, finish } = setup();
    for (let i = 1; i <= 3; i++) {
      const asked = board.network!.now();
      const r = await get('/', { auth: 'admin:wrong' });
      expect(r.status).to.equal(401);
      expect(r.at - asked, 'virtual ms before the answer').to.be.at.least(1000);
      expect(board.web!.stats.failures).to.equal(i);
      if (i === 3) expect(r.headers['connection']).to.equal('close');
    }
    expect(board.web!.stats.lockouts).to.equal(1);
    // The device carries on: the right password on a new connection.
    expect((await get('/', { auth: 'x:pw' })).status).to.equal(200);
    await finish();
  });

  it('a malformed request line gets 400 and a FIN; the next connection is served', async () => {
    const { board, loop, peer, get, finish } = setup();
    const raw = connect({ host: '192.0.2.2', port: 80, network: peer });
    const parts: Buffer[] = [];
    let ended = false;
    raw.on('data', (d: Buffer) => parts.push(d));
    raw.on('end', () => { ended = true; });
    raw.write('NONSENSE\r\n\r\n');
    expect(await loop.runUntil(() => ended, 10_000)).to.equal(true);
    expect(Buffer.concat(parts).toString()).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/);
    raw.end();
    expect(board.web!.stats.badRequests).to.equal(1);
    expect((await get('/api/stats', { auth: 'u:pw' })).status).to.equal(200);
    await finish();
  });
});
