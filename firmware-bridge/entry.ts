/**
 * The one way a command's file runs as a command: when node was started with this very file (not
 * when a test or another command imports it), `main` gets the arguments and its result is the
 * exit code; a crash prints the stack after the command's name and exits 1.
 */
import { fileURLToPath } from 'node:url';

/**
 * Runs `main(process.argv.slice(2))` if `moduleUrl` (the caller's `import.meta.url`) is the
 * script node was started with, or if `always` (a bundled image, whose file name is its own).
 */
export function runAsCommand(moduleUrl: string, name: string, main: (argv: string[]) => Promise<number>, always = false): void {
  const invoked = process.argv[1] !== undefined && fileURLToPath(moduleUrl) === process.argv[1];
  if (!invoked && !always) return;
  main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
    process.stderr.write(`${name}: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
