// What the journeys against payport share: payport with its built-in simulator in a
// temporary folder, a headless Chromium, checks that count, and screenshots.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

/**
 * Where the journeys look for Chromium, read as .ci/run reads it (set but empty means
 * the default), so that the browser it installs is the one used here.
 */
export const CHROMIUM = process.env.PAYPORT_CHROMIUM || '/usr/bin/chromium';

/**
 * The system Chromium, or null (after saying why the journeys are skipped). In CI
 * (`CI` set) a missing browser is a failure, never a skip: the checks must have run.
 */
export function chromiumPath(what) {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  if (process.env.CI) {
    console.log(`FAILED (${what}): no Chromium at ${CHROMIUM}, and CI must run the browser checks`);
    process.exit(1);
  }
  console.log(`SKIPPED (${what}): no Chromium at ${CHROMIUM}`);
  return null;
}

/** How long payport may take to say it listens before the journey gives up. */
const START_TIMEOUT_MS = 30_000;

/**
 * payport on a loopback port with SQLite and `env`; resolves once it listens, and
 * rejects with what payport printed if it exits or has not listened within 30 s.
 */
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
  const output = [];
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      server.kill();
      reject(new Error(`payport did not listen within ${START_TIMEOUT_MS / 1000} s; it printed:\n${output.join('\n')}`));
    }, START_TIMEOUT_MS);
    for (const stream of [server.stdout, server.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        const match = line.match(/payport listening on (http:\/\/[^\s]+)/);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        } else if (/ERROR|WARN/.test(line) && !/using DEV tokens/.test(line)) console.error(line);
      });
    }
    server.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`payport exited (${code}); it printed:\n${output.join('\n')}`));
    });
  }).catch((e) => {
    rmSync(dir, { recursive: true, force: true });
    throw e;
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
