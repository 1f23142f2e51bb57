/**
 * Asking the person at the terminal for a password: the prompt on stderr, the typing not echoed.
 * Null when stdin is not a terminal (a script, CI): the caller then explains which environment
 * variable to set instead. Passwords never come from the command line (visible in `ps`).
 */

/** Reads one line from the terminal without echo; null when there is no terminal. Ctrl-C exits 130. */
export function askHidden(question: string): Promise<string | null> {
  const stdin = process.stdin;
  if (stdin.isTTY !== true) return Promise.resolve(null);
  process.stderr.write(question);
  return new Promise((resolve) => {
    let typed = '';
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    stdin.resume();
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(typed);
          return;
        }
        if (ch === '\x03') {
          finish();
          process.stderr.write('interrupted\n');
          process.exit(130);
        }
        if (ch === '\x7f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch >= ' ') typed += ch;
      }
    };
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}
