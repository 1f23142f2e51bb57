/**
 * Child process for serial-link.test.ts: tries SerialLink.open(PATH) and prints one JSON line,
 * `{"opened":true}` or `{"code":…,"message":…}`. The test runs it as an unprivileged user to
 * see the permission message (root opens anything).
 */
import { SerialLink } from '../../src/drivers/serial-link.ts';

const path = process.argv[2] ?? '/dev/null';
SerialLink.open(path).then(
  async (link) => {
    process.stdout.write(JSON.stringify({ opened: true }) + '\n');
    await link.close();
  },
  (error: { code?: string; message?: string; name?: string }) => {
    process.stdout.write(JSON.stringify({ name: error.name, code: error.code, message: error.message }) + '\n');
  },
);
