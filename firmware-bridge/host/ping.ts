/**
 * `npm run ping`: pings the device from the userspace host side (`npm start` without root, or
 * connect/host connect with --user-net), which has no kernel interface to ping from. It asks the
 * running host side over its control port on 127.0.0.1 and prints the reply lines, worded like
 * iputils ping. Ctrl-C ends the run with its summary. Exit 0 when a reply came, 1 when none, 2
 * on a usage error or when no userspace host side is running.
 *
 *   npm run ping -- [--count N] [--size N]
 */
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { USER_NET_CONTROL_PORT } from '../limits.ts';

const USAGE = `usage: npm run ping -- [--count N] [--size N] [--control-port N]

Pings the device through the running userspace host side (npm start without root, or
npm run connect -- --user-net).

  --count N          requests, 1..100000 (default 4)
  --size N           payload octets per request, 8..65507, at most the link MTU - 28 (default 56)
  --control-port N   the host side's control port on 127.0.0.1 (default ${USER_NET_CONTROL_PORT})
`;

function wholeNumber(name: string, v: string | undefined, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) throw new Error(`--${name} wants a whole number ${min}..${max}, got '${v}'`);
  return n;
}

async function main(): Promise<number> {
  let count: number;
  let size: number;
  let port: number;
  try {
    const v = parseArgs({
      args: process.argv.slice(2),
      options: { count: { type: 'string', short: 'c' }, size: { type: 'string', short: 's' }, 'control-port': { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
    }).values;
    if (v.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    count = wholeNumber('count', v.count, 4, 1, 100_000);
    size = wholeNumber('size', v.size, 56, 8, 65507);
    port = wholeNumber('control-port', v['control-port'], USER_NET_CONTROL_PORT, 1, 65535);
  } catch (e) {
    process.stderr.write(`ping: ${(e as Error).message.replace(/\. To specify a positional argument.*$/s, '')}\n`);
    return 2;
  }
  return new Promise<number>((resolve) => {
    let out = '';
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`ping ${count} ${size}\n`));
    socket.on('data', (text: string) => {
      out += text;
      process.stdout.write(text);
    });
    const onInt = (): void => {
      socket.write('stop\n');
    };
    process.on('SIGINT', onInt);
    socket.on('error', (e: NodeJS.ErrnoException) => {
      process.off('SIGINT', onInt);
      process.stderr.write(e.code === 'ECONNREFUSED'
        ? `ping: no userspace host side listens on 127.0.0.1:${port}: start one with  npm start  (without root) or  npm run connect -- --user-net\n`
        : `ping: ${e.message}\n`);
      resolve(2);
    });
    socket.on('end', () => {
      process.off('SIGINT', onInt);
      socket.end();
      const m = /(\d+) received/.exec(out);
      resolve(m !== null && Number(m[1]) > 0 ? 0 : 1);
    });
  });
}

process.exitCode = await main();
