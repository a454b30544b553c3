// What every browser test file shares: `useDemo()` starts `switchboard demo --no-traffic` on
// free ports (fresh data directory) before the file's tests and stops it after, and drives
// Debian's Chromium with playwright-core. The emulator's control API plays the customer.
//
// Screenshots of every screen go to $ARTIFACTS_DIR (default target/browser-artifacts);
// `shot()` also checks the screen with axe-core for WCAG 2 A/AA violations.

import { before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = resolve(ROOT, process.env.SWITCHBOARD_BIN || "target/debug/switchboard");
const ARTIFACTS = resolve(ROOT, process.env.ARTIFACTS_DIR || "target/browser-artifacts");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
export const PAGE_ID = "1001";
export const WHATSAPP_NUMBER = "2002";

let demo, browser, dataDir;
/** The demo host's and the emulator's base URLs (set once `useDemo`'s hook ran). */
export let base, emulator;
/** The demo's workflow folder: a copy of `workflows/` a test may edit (it hot-reloads). */
export let workflowsDir;
const logs = [];

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
    srv.on("error", fail);
  });
}

export async function waitFor(check, what, ms = 30000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

export async function emulatorPost(path, body) {
  const res = await fetch(`${emulator}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `emulator ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

export async function emulatorOutbound() {
  return (await fetch(`${emulator}/_emulator/outbound`)).json();
}

const pages = [];

/** Registers the hooks that start the demo and the browser for this test file. */
export function useDemo() {
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), "switchboard-browser-"));
    workflowsDir = join(dataDir, "workflows");
    cpSync(join(ROOT, "workflows"), workflowsDir, { recursive: true });
    const [p1, p2] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${p1}`;
    emulator = `http://127.0.0.1:${p2}`;
    demo = spawn(BIN, ["demo", "--no-traffic", "--listen", `127.0.0.1:${p1}`, "--emulator-listen", `127.0.0.1:${p2}`, "--data-dir", dataDir], {
      cwd: ROOT,
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "warn", SWITCHBOARD_WORKFLOWS_DIR: workflowsDir },
    });
    demo.stdout.on("data", (d) => logs.push(String(d)));
    demo.stderr.on("data", (d) => logs.push(String(d)));
    const exited = new Promise((_, fail) => demo.on("exit", (code) => fail(new Error(`demo exited (${code}):\n${logs.join("")}`))));
    await Promise.race([waitFor(async () => (await fetch(`${base}/readyz`)).ok, "the demo to be ready", 60000), exited]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
    });
  });

  // A failed test leaves a screenshot of every page still open, to see what went wrong.
  afterEach(async (t) => {
    for (const [user, page] of pages.splice(0)) {
      if (!page.isClosed()) {
        await page.screenshot({ path: join(ARTIFACTS, `failed-${user}.png`), fullPage: true }).catch(() => {});
        await page.context().close().catch(() => {});
      }
    }
  });

  after(async () => {
    await browser?.close();
    demo?.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 300));
    demo?.kill("SIGKILL");
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
}


/** A fresh browser tab signed in as `user`; fails the test on any page error.
 *  `clock: true` gives the page Playwright's clock (`page.clock.fastForward`). */
export async function signIn(user, { clock = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  if (clock) await page.clock.install();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error" && !/favicon/.test(m.text())) errors.push(m.text()); });
  page.errors = errors;
  pages.push([user, page]);
  await page.goto(`${base}/`);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill("demo");
  await page.getByRole("button", { name: "Sign in" }).click();
  return page;
}

/** Saves a screenshot of the screen, and checks it with axe (WCAG 2 A and AA): no
 *  serious or critical violation. */
export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  // Evaluated, not added as a <script>: the host's Content-Security-Policy (rightly)
  // refuses inline scripts, and the check must not need the policy loosened.
  await page.evaluate(readFileSync(AXE, "utf8"));
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } }));
  const bad = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.help}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
  assert.deepEqual(bad, [], `accessibility of ${name}`);
}

export function noErrors(page) {
  assert.deepEqual(page.errors.filter((e) => !/Failed to load resource/.test(e)), [], "the page logged errors");
}

