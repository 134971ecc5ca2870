// What the Node SDK checks share: starting `payport sim` and reporting each check.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** Starts `payport sim <args>` on a free port; resolves to { sim, base }. */
export async function startSim(payport, args) {
  const sim = spawn(payport, ['sim', '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, NO_COLOR: '1', RUST_LOG: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // The simulator's log names the address it bound.
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the simulator did not start in 30 s')), 30_000);
    createInterface({ input: sim.stdout }).on('line', (line) => {
      const match = line.match(/simulator listening on (http:\/\/[^\s]+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    sim.on('exit', (code) => reject(new Error(`the simulator exited (${code})`)));
  });
  return { sim, base };
}

/** The pinned SDK's version, for the first line of a check's output. */
export function sdkVersion() {
  return JSON.parse(readFileSync(new URL('./node_modules/alipay-sdk/package.json', import.meta.url))).version;
}

/** `fail` and `expect` for a check named `name`; a failed expectation throws. */
export function checker(name) {
  const fail = (message) => {
    console.error(`${name}: FAILED: ${message}`);
    process.exitCode = 1;
    throw new Error(message);
  };
  const expect = (condition, message) => {
    if (!condition) fail(message);
    console.log(`  ok  ${message}`);
  };
  return { fail, expect };
}
