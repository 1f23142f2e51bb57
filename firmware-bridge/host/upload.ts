/**
 * Flashing through a shell on the board's console: what `npm run flash -- --console` does once
 * it has a shell (console.ts).
 *
 * 1. Facts: the board's CPU as its own node reports it (`process.arch`: a 64-bit kernel may run
 *    a 32-bit userland), Node's version, and that base64, sha256sum, tar and gzip exist.
 * 2. The CPU's tarball is cut into chunks (8 KiB). Each goes as one command, base64 in a
 *    here-document (76-character lines, nothing a terminal interprets), decoded by the board's
 *    `base64 -d` into `<to>/.upload-<sha>/cNNNNN`, and answered with the first 16 hex digits of
 *    its SHA-256. A chunk whose answer is wrong is sent again (3 tries). Two chunks are in
 *    flight at a time, so the line never idles while the board answers.
 * 3. Resuming: the staging directory is named after the tarball's SHA-256 (the build is
 *    deterministic), so a re-run first lists the chunks already there with their hashes and
 *    sends only the missing or wrong ones.
 * 4. The chunks are joined and the whole tarball's SHA-256 checked; it is unpacked to
 *    `<to>/releases/<version>-<sha12>`, every file checked against SHA256SUMS, `<to>/current`
 *    pointed at it, and `current/slipstack --help` run once, so a Node that cannot load the
 *    binaries is found now rather than at boot.
 * 5. Optionally the boot service (service.ts), started and watched until the firmware is ready.
 */
import { ConsoleError, HEREDOC_END, visible, type BoardShell, type CommandResult } from './console.ts';
import { archOf, NODE_MIN_MAJOR, sha256Hex, type Arch } from './image.ts';
import { enableCommands, INIT_PATH, initScript, readyCheck, systemdUnit, UNIT_PATH, type ServiceOptions } from './service.ts';

/** Raw octets per chunk. 8 KiB is about 0.95 s of line at 115200 baud in base64. */
export const CHUNK_OCTETS = 8192;
/** Chunks sent before the first of them is answered. */
const WINDOW = 2;
/** Tries per chunk before the upload gives up. */
const TRIES = 3;

/** What the flasher needs to know about the image it sends. */
export interface UploadImage {
  version: string;
  /** The directory name inside the tarball, e.g. slipstack-0.1.0. */
  dirName: string;
  /** The tarball for each CPU. */
  tarballs: Map<Arch, Uint8Array>;
  /** Unpacked size per CPU, octets (for the free-space check). */
  unpacked: Map<Arch, number>;
}

export interface BoardFacts {
  arch: Arch;
  machine: string;
  node: string;
  nodeVersion: string;
  systemd: boolean;
  /** The console's own tty on the board (e.g. /dev/ttymxc0), or '' when unknown. */
  tty: string;
}

export interface UploadOptions {
  /** Install directory on the board (absolute, plain characters). */
  to: string;
  /** The boot service, or null for none. */
  service: Omit<ServiceOptions, 'to' | 'passwordFile' | 'takeOverConsole'> | null;
  /** The telnet password for the service, or null (telnet off). */
  telnetPassword: string | null;
  /** The console's baud, to size timeouts. */
  baud: number;
  /** One line of news. */
  say: (line: string) => void;
  /** Upload progress: octets acknowledged of the octets this run sends. */
  progress?: (done: number, total: number) => void;
  chunkOctets?: number;
}

export interface UploadReport {
  facts: BoardFacts;
  tarballSha256: string;
  tarballOctets: number;
  chunks: number;
  /** Chunks already on the board from an earlier run, and left alone. */
  reused: number;
  /** Chunks sent again after a wrong answer. */
  resent: number;
  /** Octets of tarball sent in this run. */
  sentOctets: number;
  /** Where the image now is, e.g. /opt/slipstack/releases/0.1.0-1a2b3c4d5e6f. */
  release: string;
  serviceStarted: boolean;
}

/** The tarball's base64 in lines of 76 characters, as `base64` itself writes them. */
export function base64Lines(data: Uint8Array): string {
  const b64 = Buffer.from(data.buffer, data.byteOffset, data.length).toString('base64');
  let out = '';
  for (let i = 0; i < b64.length; i += 76) out += `${b64.slice(i, i + 76)}\n`;
  return out;
}

export function chunkName(index: number): string {
  return `c${String(index).padStart(5, '0')}`;
}

/** The command that writes chunk `index` into the current directory and prints `h=<16 hex>`. */
export function chunkCommand(index: number, data: Uint8Array): string {
  const name = chunkName(index);
  const part = `p${name.slice(1)}`;
  return `base64 -d > ${part} <<'${HEREDOC_END}'\n${base64Lines(data)}${HEREDOC_END}\n` +
    `s=$?; [ $s -eq 0 ] && mv -f ${part} ${name}; h=$(sha256sum < ${name} 2>/dev/null); printf 'h=%.16s\\n' "$h"; [ $s -eq 0 ]`;
}

/** A command that writes `data` to `path` with `mode` (octal string), through base64. */
export function writeFileCommand(path: string, data: string | Uint8Array, mode: string): string {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return `(umask 077 && base64 -d > ${path}.tmp) <<'${HEREDOC_END}'\n${base64Lines(bytes)}${HEREDOC_END}\n` +
    `[ $? -eq 0 ] && chmod ${mode} ${path}.tmp && mv -f ${path}.tmp ${path}`;
}

const SAFE_PATH = /^\/[A-Za-z0-9._/-]+$/;

/** Checks a board path the flasher will put into shell commands unquoted. */
export function checkBoardPath(what: string, path: string): string | null {
  if (!SAFE_PATH.test(path) || path.includes('/../') || path.endsWith('/..')) {
    return `${what} must be an absolute path of letters, digits, '.', '_', '-' and '/', got '${path}'`;
  }
  return null;
}

function noSpace(output: string): boolean {
  return /no space left/i.test(output);
}

/** Runs a command that must succeed; a failure becomes a ConsoleError `what: <output>`. */
async function must(shell: BoardShell, command: string, what: string, ms = 60_000): Promise<string> {
  const r = await shell.run(command, ms, what);
  if (noSpace(r.output)) throw new ConsoleError(`no space left on the board while ${what}: ${firstLine(r.output)}`);
  if (r.status !== 0) throw new ConsoleError(`${what} failed on the board: ${firstLine(r.output) || `exit status ${r.status}`}`);
  return r.output;
}

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '')[0] ?? '';
}

/** Step 1: the board's CPU, Node and tools. */
export async function boardFacts(shell: BoardShell): Promise<BoardFacts> {
  const out = (await shell.run(
    `printf 'machine=%s\\n' "$(uname -m)"; for c in base64 sha256sum tar gzip; do command -v $c >/dev/null 2>&1 || printf 'missing=%s\\n' $c; done; ` +
    `n=; for c in node nodejs; do if command -v $c >/dev/null 2>&1; then n=$c; break; fi; done; ` +
    `[ -n "$n" ] && printf 'node=%s %s\\n' "$(command -v $n)" "$($n -p 'process.arch+" "+process.versions.node' 2>&1 | tail -n 1)"; ` +
    `[ -d /run/systemd/system ] && echo systemd=yes; printf 'tty=%s\\n' "$(tty 2>/dev/null)"`,
    60_000, 'asking the board about itself')).output;
  const get = (key: string): string[] => [...out.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
  const missing = get('missing');
  if (missing.includes('base64')) {
    throw new ConsoleError('base64 missing on the board: the upload needs `base64 -d` (busybox with base64 enabled, or coreutils)');
  }
  if (missing.length > 0) throw new ConsoleError(`${missing.join(', ')} missing on the board: the upload needs base64, sha256sum, tar and gzip`);
  const machine = get('machine')[0] ?? '?';
  const nodeLine = get('node')[0];
  if (nodeLine === undefined) {
    throw new ConsoleError(`no node on the board (neither node nor nodejs on PATH): the image needs Node ${NODE_MIN_MAJOR} or newer (Debian: the nodejs package)`);
  }
  const m = /^(\S+) (\S+) (\d+)\.(\d+)\.(\d+)$/.exec(nodeLine);
  if (m === null) throw new ConsoleError(`node on the board does not run: ${nodeLine}`);
  if (Number(m[3]) < NODE_MIN_MAJOR) {
    throw new ConsoleError(`node on the board is ${m[3]}.${m[4]}.${m[5]}; the image needs Node ${NODE_MIN_MAJOR} or newer`);
  }
  const arch = archOf(m[2]!);
  if (arch === null) throw new ConsoleError(`the board's node runs on ${m[2]} (${machine}); the image has linux arm, arm64 and x64 binaries only`);
  return { arch, machine, node: m[1]!, nodeVersion: `${m[3]}.${m[4]}.${m[5]}`, systemd: get('systemd')[0] === 'yes', tty: get('tty')[0] ?? '' };
}

/** Flashes the image over `shell`. Throws ConsoleError with a one-line reason. */
export async function flashOverConsole(shell: BoardShell, image: UploadImage, options: UploadOptions): Promise<UploadReport> {
  const say = options.say;
  const to = options.to;
  const facts = await boardFacts(shell);
  say(`board: ${facts.machine}, node ${facts.nodeVersion} (${facts.node}), ${facts.systemd ? 'systemd' : 'no systemd'}${facts.tty !== '' ? `, console ${facts.tty}` : ''}`);
  const tarball = image.tarballs.get(facts.arch)!;
  const sha = sha256Hex(tarball);
  const chunkOctets = options.chunkOctets ?? CHUNK_OCTETS;
  const stage = `${to}/.upload-${sha.slice(0, 16)}-${chunkOctets}`;
  const count = Math.ceil(tarball.length / chunkOctets);
  const chunk = (i: number): Uint8Array => tarball.subarray(i * chunkOctets, Math.min(tarball.length, (i + 1) * chunkOctets));
  say(`image: ${image.dirName}-linux-${facts.arch}.tar.gz, ${tarball.length} octets, sha256 ${sha}, ${count} chunks`);

  // The staging directory (others' leftovers removed), and what is in it already.
  const made = await shell.run(`mkdir -p ${stage} && cd ${stage}`, 30_000, 'making the staging directory');
  if (made.status !== 0) throw new ConsoleError(`cannot create ${stage} on the board: ${firstLine(made.output)}`);
  await shell.run(`for d in ${to}/.upload-*; do [ "$d" = "${stage}" ] || rm -rf "$d"; done`, 60_000, 'removing old uploads');
  const listing = (await shell.run(
    `for f in c[0-9][0-9][0-9][0-9][0-9]; do [ -f "$f" ] || continue; h=$(sha256sum < "$f"); printf '%s %.16s\\n' "$f" "$h"; done`,
    120_000, 'listing chunks already on the board')).output;
  const onBoard = new Map<string, string>();
  for (const m of listing.matchAll(/^(c\d{5}) ([0-9a-f]{16})$/gm)) onBoard.set(m[1]!, m[2]!);
  const todo: number[] = [];
  let reusedOctets = 0;
  for (let i = 0; i < count; i++) {
    if (onBoard.get(chunkName(i)) === sha256Hex(chunk(i)).slice(0, 16)) reusedOctets += chunk(i).length;
    else todo.push(i);
  }
  const reused = count - todo.length;
  if (reused > 0) say(`resuming: ${reused} of ${count} chunks are on the board already`);

  // Free space: the chunks, the joined tarball, then the unpacked tree beside it.
  const df = (await shell.run('df -Pk . | tail -n 1', 30_000, 'checking free space')).output;
  const avail = /^\S+\s+\d+\s+\d+\s+(\d+)\s/m.exec(df);
  const unpacked = image.unpacked.get(facts.arch)!;
  const needed = tarball.length + Math.max(tarball.length, unpacked) - reusedOctets + 64 * 1024;
  if (avail !== null && Number(avail[1]) * 1024 < needed) {
    throw new ConsoleError(`no space left on the board: ${to} has ${avail[1]} KiB free, the image needs ${Math.ceil(needed / 1024)} KiB ` +
      `(${Math.ceil(tarball.length / 1024)} KiB upload, ${Math.ceil(unpacked / 1024)} KiB unpacked)`);
  }

  // The upload.
  const total = todo.reduce((n, i) => n + chunk(i).length, 0);
  const b64PerChunk = Math.ceil((chunkOctets * 4) / 3 / 76) * 77;
  const answerMs = Math.ceil(((WINDOW + 1) * b64PerChunk * 10 * 1000) / options.baud) * 3 + 15_000;
  let done = 0;
  let resent = 0;
  let recoveries = 0;
  const tries = new Map<number, number>();
  const queue = [...todo];
  const inFlight: Array<{ index: number; id: string }> = [];
  options.progress?.(0, total);
  while (queue.length > 0 || inFlight.length > 0) {
    while (inFlight.length < WINDOW && queue.length > 0) {
      const index = queue.shift()!;
      tries.set(index, (tries.get(index) ?? 0) + 1);
      inFlight.push({ index, id: await shell.send(chunkCommand(index, chunk(index))) });
    }
    const { index, id } = inFlight.shift()!;
    let r: CommandResult | null;
    try {
      r = await shell.resultOrLost(id, answerMs, `uploading chunk ${index + 1} of ${count}`);
    } catch (e) {
      // Silence: noise may have eaten the end of a here-document the shell still reads. Twice at most.
      if (!(e instanceof ConsoleError) || shell.line.isLost || recoveries >= 2) throw e;
      recoveries++;
      say(`no answer to chunk ${index + 1} of ${count} for ${Math.round(answerMs / 1000)} s: getting the shell back, sending it again`);
      await shell.recover(answerMs);
      for (const f of [{ index, id }, ...inFlight.splice(0)].reverse()) queue.unshift(f.index);
      continue;
    }
    const answer = r === null ? undefined : /^h=([0-9a-f]{16})$/m.exec(r.output)?.[1];
    if (r !== null && noSpace(r.output)) throw new ConsoleError(`no space left on the board in ${to}: ${firstLine(r.output)}`);
    if (r !== null && r.status === 0 && answer === sha256Hex(chunk(index)).slice(0, 16)) {
      done += chunk(index).length;
      options.progress?.(done, total);
      continue;
    }
    if (tries.get(index)! >= TRIES) {
      throw new ConsoleError(`checksum mismatch on chunk ${index + 1} of ${count} after ${TRIES} tries: the line corrupts data ` +
        `(check the cable and ground, or try a lower --baud)${r !== null && r.output.trim() !== '' && answer === undefined ? `; the board said: ${visible(firstLine(r.output), 60)}` : ''}`);
    }
    resent++;
    say(`chunk ${index + 1} of ${count}: ${r === null ? 'its answer was lost (line noise)' : 'checksum mismatch'}, sending it again`);
    // Chunks are joined by name, so order does not matter; the retry goes after what is in flight.
    queue.unshift(index);
  }

  // Join, check, unpack, check every file, switch `current`.
  const joined = await must(shell, `cat c[0-9][0-9][0-9][0-9][0-9] > image.tar.gz && sha256sum image.tar.gz`, 'joining the chunks', 120_000);
  const got = /\b([0-9a-f]{64})\b/.exec(joined)?.[1];
  if (got !== sha) {
    await shell.run(`cd / && rm -rf ${stage}`, 60_000, 'removing the upload');
    throw new ConsoleError(`checksum mismatch after the upload: the board has sha256 ${got ?? '?'}, expected ${sha}; the upload was removed, run again`);
  }
  say(`uploaded and checked: sha256 ${sha}`);
  const release = `${to}/releases/${image.version}-${sha.slice(0, 12)}`;
  await must(shell, `rm -f c[0-9][0-9][0-9][0-9][0-9] && rm -rf ${to}/.unpack && mkdir -p ${to}/.unpack ${to}/releases && ` +
    `gzip -dc image.tar.gz | tar -xf - -C ${to}/.unpack && rm -rf ${release} && mv ${to}/.unpack/${image.dirName} ${release} && rmdir ${to}/.unpack`,
  'unpacking the image', 300_000);
  const bad = await must(shell, `cd ${release} && sha256sum -c SHA256SUMS 2>&1 | grep -v ': OK$'; true`, 'checking the unpacked files', 300_000);
  if (bad.trim() !== '') throw new ConsoleError(`unpacked files do not match SHA256SUMS: ${firstLine(bad)}`);
  const previous = (await shell.run(`readlink ${to}/current 2>/dev/null; true`, 30_000, 'reading the current release')).output.trim();
  await must(shell, `cd ${to} && ln -sfn releases/${release.slice(release.lastIndexOf('/') + 1)} current && rm -rf ${stage}`, 'switching to the new release');
  // Keep the new release and the one before it; older ones go.
  await shell.run(`cd ${to}/releases && for r in *; do case "$r" in "${release.slice(release.lastIndexOf('/') + 1)}"|"${previous.replace(/^releases\//, '')}") ;; *) rm -rf "$r" ;; esac; done; cd /`,
    60_000, 'removing old releases');
  const selfTest = await shell.run(`${to}/current/slipstack --help > /dev/null`, 120_000, 'starting the firmware once');
  if (selfTest.status !== 0) throw new ConsoleError(`the image does not start on the board: ${firstLine(selfTest.output) || `exit status ${selfTest.status}`}`);
  say(`installed: ${release} (${to}/current); it starts with node ${facts.nodeVersion}`);

  let serviceStarted = false;
  if (options.service !== null) serviceStarted = await installService(shell, facts, options);
  return {
    facts, tarballSha256: sha, tarballOctets: tarball.length, chunks: count, reused, resent, sentOctets: done, release, serviceStarted,
  };
}

async function installService(shell: BoardShell, facts: BoardFacts, options: UploadOptions): Promise<boolean> {
  const to = options.to;
  const port = options.service!.port;
  const onConsole = facts.tty !== '' && facts.tty === port;
  if (onConsole && !facts.systemd) {
    throw new ConsoleError(`${port} is the console this flasher is using; taking it over at boot needs systemd (this board has none): name another UART`);
  }
  const service: ServiceOptions = {
    ...options.service!, to, passwordFile: options.telnetPassword !== null, takeOverConsole: onConsole ? port : null,
  };
  if (options.telnetPassword !== null) {
    await must(shell, writeFileCommand(`${to}/telnet-password`, options.telnetPassword, '600'), 'writing the telnet password');
  } else {
    await shell.run(`rm -f ${to}/telnet-password`, 30_000, 'removing the telnet password');
  }
  if (facts.systemd) await must(shell, writeFileCommand(UNIT_PATH, systemdUnit(service), '644'), `writing ${UNIT_PATH}`);
  else await must(shell, writeFileCommand(INIT_PATH, initScript(service), '755'), `writing ${INIT_PATH}`);
  for (const line of enableCommands(service, facts.systemd)) await must(shell, line, 'enabling the service', 120_000);
  if (onConsole) {
    options.say(`service installed; it takes ${port} over 2 s after this flasher logs out (the login prompt there is masked)`);
    return true;
  }
  const ready = await shell.run(readyCheck(service, facts.systemd), 60_000, 'waiting for the firmware to start');
  const tail = ready.output.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (ready.status !== 0) throw new ConsoleError(`the service did not report ready within 30 s: ${tail.slice(-1)[0] ?? 'no output'}`);
  options.say(`service: ${facts.systemd ? UNIT_PATH : INIT_PATH} runs the firmware on ${port} at boot; it is running now`);
  return true;
}
