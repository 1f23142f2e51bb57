/**
 * `npm run flash` lives with the host end of the line: firmware-bridge/host/flash.ts. This entry
 * point stays for whatever still runs `scripts/flash.ts` (bench/pty.bench.ts does).
 */
import { main } from '../firmware-bridge/host/flash.ts';

process.exitCode = await main(process.argv.slice(2));
