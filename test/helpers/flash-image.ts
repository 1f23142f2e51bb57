/**
 * The flash image, built once per test run into .tmp/test-image (not dist/, which belongs to
 * whoever runs `npm run flash`). koffi's arm and arm64 packages come from the npm registry the
 * first time (then .tmp/npm-packs); when they cannot be had, `imageOrSkip` makes the calling test
 * pending with the reason.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, type Image } from '../../firmware-bridge/host/image.ts';
import { FetchError } from '../../firmware-bridge/host/npm-packs.ts';
import { noteSkip } from './tools.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let built: Promise<Image> | null = null;

/** The image (built on first call). */
export function flashImage(): Promise<Image> {
  built ??= buildImage({ root: ROOT, outDir: join(ROOT, '.tmp', 'test-image') });
  return built;
}

/** The image, or the test (or hook) is marked pending when koffi's other-CPU packages cannot be fetched. */
export async function imageOrSkip(ctx: Mocha.Context): Promise<Image> {
  try {
    return await flashImage();
  } catch (e) {
    if (!(e instanceof FetchError)) throw e;
    const why = `needs the npm registry once: ${e.message}`;
    noteSkip(`flash image: ${why}`);
    const runnable = ctx.test;
    if (runnable !== undefined) runnable.title += ` (pending: ${why})`;
    ctx.skip();
  }
}
