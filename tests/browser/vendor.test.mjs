// The desktop's vendored libraries are exactly what the lock file installs: the copies
// in host/src/web/assets/vendor/ must be byte for byte the files `npm ci` puts in
// tests/browser/node_modules (package.json pins the version, package-lock.json the bytes).
// To upgrade: `npm install --save-exact uplot@<version>` here, copy the files, commit both.
//
//   node --test vendor.test.mjs   (after `npm ci` in tests/browser)

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

const VENDOR = resolve(import.meta.dirname, "../../host/src/web/assets/vendor");
const require = createRequire(import.meta.url);

/** Each vendored file, with the package file it is a copy of. */
const COPIES = [
  ["uPlot.esm.js", "uplot", "dist/uPlot.esm.js"],
  ["uPlot.min.css", "uplot", "dist/uPlot.min.css"],
  ["uPlot.LICENSE", "uplot", "LICENSE"],
];

test("the vendored files are the ones the lock file installs", () => {
  const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, "package.json"), "utf8"));
  for (const [copy, name, file] of COPIES) {
    const root = dirname(require.resolve(`${name}/package.json`));
    const installed = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
    assert.equal(installed, pkg.devDependencies[name], `node_modules has the pinned ${name}: run npm ci`);
    const want = readFileSync(join(root, file));
    const have = readFileSync(join(VENDOR, copy));
    assert.ok(have.equals(want), `${copy} differs from ${name}@${installed}/${file}: copy it again from node_modules`);
  }
  // The chart module's import names the vendored file, so the page loads this very copy.
  const chart = readFileSync(resolve(VENDOR, "../chart.js"), "utf8");
  assert.match(chart, /from "\/assets\/vendor\/uPlot\.esm\.js"/);
});
