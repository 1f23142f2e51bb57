/**
 * How a host-side command that serves until told stops (host connect over TUN, the userspace
 * host side): once, at SIGINT or SIGTERM (exit 0) or at the first `stop(code, why)` (the line or
 * TUN went away), saying why, then calling `halt` to end its loop.
 */
export class Stopper {
  /** The exit code of the first stop; 0 until then. */
  code = 0;
  private stopping = false;
  private readonly say: (line: string) => void;
  private readonly halt: () => void;
  private readonly onInt = (): void => this.stop(0, 'SIGINT: stopping');
  private readonly onTerm = (): void => this.stop(0, 'SIGTERM: stopping');

  /** Starts listening for SIGINT and SIGTERM until `detach()`. */
  constructor(say: (line: string) => void, halt: () => void) {
    this.say = say;
    this.halt = halt;
    process.on('SIGINT', this.onInt);
    process.on('SIGTERM', this.onTerm);
  }

  /** Stops with `code` and says `why`; later calls do nothing. */
  readonly stop = (code: number, why: string): void => {
    if (this.stopping) return;
    this.stopping = true;
    this.code = code;
    this.say(why);
    this.halt();
  };

  /** Stops listening for the signals. */
  detach(): void {
    process.off('SIGINT', this.onInt);
    process.off('SIGTERM', this.onTerm);
  }
}
