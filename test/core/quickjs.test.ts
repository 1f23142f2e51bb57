/**
 * The core runs without Node: bundled with esbuild and evaluated in QuickJS (a WebAssembly build
 * of the engine, npm quickjs-emscripten), two stacks ping each other and move 1 MiB over TCP in
 * virtual time; the octets that arrive are hashed out here against the ones that were sent.
 */
import { expect } from 'chai';
import { build } from 'esbuild';
import { getQuickJS } from 'quickjs-emscripten';
import { coreSources, runCoreInQuickJs } from '../../support/quickjs.ts';
import { randomBytes, sha256 } from '../../support/pattern.ts';

describe('core in QuickJS (no Node)', function () {
  this.timeout(60_000);

  it('pings and moves 1 MiB over TCP between two stacks, the SHA-256 checked outside', async () => {
    const size = 1 << 20;
    const run = await runCoreInQuickJs(10, size, 0x5eed);
    expect(run.modules).to.equal(coreSources().length);
    expect(run.pingReplies).to.equal(10);
    expect(run.receivedLen).to.equal(size);
    expect(run.receivedSha256).to.equal(sha256(randomBytes(size, 0x5eed)));
    expect(run.heapBytes).to.be.greaterThan(run.stacksBytes);
  });

  it('would catch a Node API in the core: the engine has none, and a node: import does not bundle', async () => {
    const vm = (await getQuickJS()).newContext();
    for (const name of ['process', 'Buffer', 'setTimeout', 'require']) {
      const handle = vm.unwrapResult(vm.evalCode(`typeof ${name}`));
      expect(vm.getString(handle)).to.equal('undefined', name);
      handle.dispose();
    }
    vm.dispose();
    let failed = false;
    try {
      await build({ stdin: { contents: "import { readFileSync } from 'node:fs'; readFileSync('x');", loader: 'ts' }, bundle: true, platform: 'neutral', write: false, logLevel: 'silent' });
    } catch {
      failed = true;
    }
    expect(failed).to.equal(true);
  });
});
