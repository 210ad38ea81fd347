// Prints the gzipped size of what the browser downloads for the first page of each route
// (entry chunk + its static imports + CSS + the route's lazy chunk and its imports), from Vite's
// manifest, and fails when the heaviest initial route is over the 300 kB budget.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET_KB = 300;
const dist = resolve(dirname(fileURLToPath(import.meta.url)), '../dist');
const manifest = JSON.parse(readFileSync(resolve(dist, '.vite/manifest.json'), 'utf8'));

const gz = (file) => gzipSync(readFileSync(resolve(dist, file)), { level: 9 }).length;

function closure(keys, seen = new Set()) {
  for (const key of keys) {
    if (seen.has(key)) continue;
    seen.add(key);
    closure(manifest[key].imports ?? [], seen);
  }
  return seen;
}

function files(keys) {
  const out = new Set(['index.html']);
  for (const key of keys) {
    out.add(manifest[key].file);
    for (const css of manifest[key].css ?? []) out.add(css);
  }
  return out;
}

const entryKey = Object.keys(manifest).find((k) => manifest[k].isEntry);
const entry = closure([entryKey]);
const rows = [];
const total = (set) => [...set].reduce((sum, f) => sum + gz(f), 0);
rows.push(['(shell only)', total(files(entry))]);
for (const key of manifest[entryKey].dynamicImports ?? []) {
  const name = key.replace(/^src\/app\/routes\//, '').replace(/\.tsx?$/, '');
  rows.push([name, total(files(closure([key], new Set(entry))))]);
}
const lazyOnly = Object.entries(manifest)
  .filter(
    ([, chunk]) =>
      chunk.isDynamicEntry && !(manifest[entryKey].dynamicImports ?? []).includes(chunk.src),
  )
  .map(([key, chunk]) => [key, gz(chunk.file)]);

console.log('\nInitial download per route (gzip -9, kB):');
for (const [name, bytes] of rows) console.log(`  ${name.padEnd(24)} ${(bytes / 1024).toFixed(1)}`);
for (const [key, bytes] of lazyOnly)
  console.log(`  lazy: ${key.padEnd(18)} ${(bytes / 1024).toFixed(1)} (loaded on demand)`);
const worst = Math.max(...rows.map(([, b]) => b)) / 1024;
console.log(`Heaviest initial route: ${worst.toFixed(1)} kB gzipped (budget ${BUDGET_KB} kB).`);
if (worst > BUDGET_KB) {
  console.error('Over budget.');
  process.exit(1);
}
