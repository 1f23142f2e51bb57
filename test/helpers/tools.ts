/**
 * Outside programs the tests run (`test/tools.txt`: command, Debian package, what needs it).
 *
 * A test that runs one checks for it first with `missingTools()` / `skipWithout()` and is
 * pending with the reason ("needs ping (Debian: iputils-ping)") when it is not installed,
 * never a failure. Every such skip is remembered, and when mocha exits `npm test` prints one
 * line naming what was missing and the one command that installs it all (the same list
 * `.ci/run` installs).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'tools.txt');

export interface Tool {
  command: string;
  /** The Debian package that has it. */
  debian: string;
}

/** The list in test/tools.txt, in its order. */
export function toolList(): Tool[] {
  const tools: Tool[] = [];
  for (const line of readFileSync(LIST, 'utf8').split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const [command, debian] = t.split(/\s+/);
    if (command !== undefined && debian !== undefined) tools.push({ command, debian });
  }
  return tools;
}

const found = new Map<string, boolean>();
/** Names of tools some test wanted and did not find, and other reasons tests were skipped. */
const missing = new Set<string>();
const otherReasons = new Set<string>();

/** True when `command` is on PATH. */
export function hasTool(command: string): boolean {
  let ok = found.get(command);
  if (ok === undefined) {
    ok = spawnSync('sh', ['-c', 'command -v "$0"', command], { stdio: 'ignore' }).status === 0;
    found.set(command, ok);
  }
  return ok;
}

function debianOf(command: string): string {
  const tool = toolList().find((t) => t.command === command);
  if (tool === undefined) throw new Error(`test/tools.txt does not list ${command}: add it with its Debian package`);
  return tool.debian;
}

/**
 * Null when every command is installed, else the reason a test is pending, naming each missing
 * command with its Debian package: "needs ping (Debian: iputils-ping)". Remembered for the
 * summary line.
 */
export function missingTools(...commands: string[]): string | null {
  const lacking = commands.filter((c) => !hasTool(c));
  if (lacking.length === 0) return null;
  for (const c of lacking) missing.add(c);
  return `needs ${lacking.map((c) => `${c} (Debian: ${debianOf(c)})`).join(', ')}`;
}

/** Remembers a skip that no package fixes (not root, no /dev/net/tun), for the summary line. */
export function noteSkip(reason: string): void {
  otherReasons.add(reason);
}

/** In a test or hook: pending, with the reason in the title, when a command is missing. */
export function skipWithout(ctx: Mocha.Context, ...commands: string[]): void {
  const why = missingTools(...commands);
  if (why === null) return;
  const runnable = ctx.test;
  // In a test the reason goes into its title; in a hook (the whole suite pends) into the suite's.
  if (runnable !== undefined && (runnable as { type?: string }).type === 'test') runnable.title += ` (pending: ${why})`;
  else if (runnable?.parent !== undefined) runnable.parent.title += ` (pending: ${why})`;
  ctx.skip();
}

/** The summary line, or null when nothing was skipped for want of a tool or a privilege. */
export function skipSummary(): string | null {
  const parts: string[] = [];
  if (missing.size > 0) {
    const wanted = toolList().filter((t) => missing.has(t.command));
    const packages = [...new Set(toolList().map((t) => t.debian))];
    parts.push(`tests pending for want of ${wanted.map((t) => t.command).join(', ')}; ` +
      `install every tool the suite uses with: apt-get install -y --no-install-recommends ${packages.join(' ')}`);
  }
  if (otherReasons.size > 0) parts.push(`also pending: ${[...otherReasons].join('; ')}`);
  return parts.length === 0 ? null : `npm test: ${parts.join('. ')}`;
}

// After mocha's own summary: the one line that says what was skipped and how to get it all.
process.once('exit', () => {
  const line = skipSummary();
  if (line !== null) process.stdout.write(`\n${line}\n`);
});
