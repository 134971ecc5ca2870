// Runs the README's Node verification snippet on the committed signed example
// (testdata/webhook-signature.json): it must accept it, and refuse a changed body,
// a wrong secret and an old time. Usage: node check.mjs <repo root>
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const root = process.argv[2] ?? ".";
const readme = readFileSync(join(root, "README.md"), "utf8");
const block = readme
  .split("```js\n")
  .slice(1)
  .map((rest) => rest.split("```")[0])
  .find((code) => code.includes("export function verifyPayport"));
if (!block) {
  console.error("FAILED: no js block with verifyPayport in the README");
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), "payport-snippet-"));
const file = join(dir, "verify.mjs");
writeFileSync(file, block);
const { verifyPayport } = await import(pathToFileURL(file).href);
rmSync(dir, { recursive: true, force: true });

const v = JSON.parse(readFileSync(join(root, "testdata/webhook-signature.json"), "utf8"));
const body = Buffer.from(v.body, "utf8");
const checks = {
  "accepts the example": verifyPayport(v.secret, v.header, body, { now: v.t + 10 }),
  "refuses a changed body": !verifyPayport(v.secret, v.header, Buffer.from(v.body.replace("88.88", "8.88")), { now: v.t }),
  "refuses a wrong secret": !verifyPayport("whsec_not_the_secret", v.header, body, { now: v.t }),
  "refuses an old time": !verifyPayport(v.secret, v.header, body, { now: v.t + 301 }),
  "refuses a header without t": !verifyPayport(v.secret, "v1=" + v.header.split("v1=")[1], body, { now: v.t }),
};
let failed = 0;
for (const [name, ok] of Object.entries(checks)) {
  console.log(`${ok ? "ok" : "FAILED"}: the README's Node snippet ${name}`);
  if (!ok) failed += 1;
}
process.exit(failed ? 1 : 0);
