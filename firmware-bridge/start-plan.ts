/**
 * How `npm start` hands the telnet password to the firmware it spawns: in the child's
 * environment (SLIPSTACK_PASSWORD), never on its command line. A command line is world-readable
 * (`ps`, /proc/<pid>/cmdline); a process's environment is readable only by its owner and root
 * (/proc/<pid>/environ is mode 0400).
 */

/** Arguments and environment of the firmware child. */
export interface FirmwareSpawn {
  args: string[];
  env: Record<string, string | undefined>;
}

/**
 * The firmware's arguments (`--port`, then `common`) and environment (this process's, with
 * SLIPSTACK_PASSWORD set to `password`). The password never appears in `args`.
 */
export function firmwareSpawn(port: string, password: string, common: readonly string[],
  env: Record<string, string | undefined> = process.env): FirmwareSpawn {
  return { args: ['--port', port, ...common], env: { ...env, SLIPSTACK_PASSWORD: password } };
}
