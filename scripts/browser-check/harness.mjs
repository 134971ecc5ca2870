// What the journeys against payport share: payport with its built-in simulator in a
// temporary folder, a headless Chromium, checks that count, and screenshots.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

/** The system Chromium, or null (after saying why the journeys are skipped). */
export function chromiumPath(what) {
  const path = process.env.PAYPORT_CHROMIUM ?? '/usr/bin/chromium';
  if (existsSync(path)) return path;
  console.log(`SKIPPED (${what}): no Chromium at ${path}`);
  return null;
}

/** payport on a loopback port with SQLite and `env`; resolves once it listens. */
export async function startPayport(binary, env) {
  const dir = mkdtempSync(join(tmpdir(), 'payport-journey-'));
  const server = spawn(binary, [], {
    cwd: dir,
    env: {
      ...process.env, NO_COLOR: '1', RUST_LOG: 'info',
      PAYPORT_LISTEN: '127.0.0.1:0',
      PAYPORT_DATABASE_URL: `sqlite://${dir}/payport.db`,
      PAYPORT_RECONCILIATION__ENABLED: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const base = await new Promise((resolve, reject) => {
    for (const stream of [server.stdout, server.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        const match = line.match(/payport listening on (http:\/\/[^\s]+)/);
        if (match) resolve(match[1]);
        else if (/ERROR|WARN/.test(line) && !/using DEV tokens/.test(line)) console.error(line);
      });
    }
    server.on('exit', (code) => reject(new Error(`payport exited (${code})`)));
  });
  const stop = () => {
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  return { base, stop };
}

/** `expect(condition, message)` prints and counts; `summary(name)` sets the exit code. */
export function checks() {
  const counts = { passed: 0, failed: 0 };
  const expect = (condition, message) => {
    console.log(`  ${condition ? 'ok  ' : 'FAIL'} ${message}`);
    condition ? counts.passed++ : counts.failed++;
  };
  const fail = (e) => {
    counts.failed++;
    console.log(`  FAIL ${e.stack ?? e}`);
  };
  const summary = (name) => {
    console.log(`${name}: ${counts.passed} passed, ${counts.failed} failed`);
    process.exitCode = counts.failed ? 1 : 0;
  };
  return { expect, fail, summary };
}

export function launch(executablePath) {
  return chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
      '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** `shot(page, name)`: a full-page screenshot into `dir`. */
export function screenshots(dir) {
  mkdirSync(dir, { recursive: true });
  return async (page, name) => {
    await page.screenshot({ path: join(dir, name), fullPage: true });
    console.log(`  screenshot: ${join(dir, name)}`);
  };
}
