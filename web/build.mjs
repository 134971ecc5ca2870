// Builds each page under src/<page>/ into dist/<page>/: its index.html and style.css
// copied, its main.ts bundled into <page>.js. payport embeds dist/ and serves each
// page under /<page> (crates/server/src/web.rs), so the output is committed and
// cargo never needs Node. Add a page by adding a folder and its name below.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const pages = ['console', 'demo'];

for (const page of pages) {
  const out = `dist/${page}`;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  copyFileSync(`src/${page}/index.html`, `${out}/index.html`);
  copyFileSync(`src/${page}/style.css`, `${out}/style.css`);
  await build({
    entryPoints: [`src/${page}/main.ts`],
    outfile: `${out}/${page}.js`,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    // No source maps or build-time values: the same sources give the same bytes,
    // which is what scripts/web-check compares.
    legalComments: 'none',
    logLevel: 'warning',
  });
}
