// Layout checks at a given window width, shared by the supervisor's and the administrator's
// tests: the page itself never scrolls sideways, and every table header shows its whole
// text (a table wider than its panel scrolls inside its own box instead).

import assert from "node:assert/strict";
import { shot } from "./harness.mjs";

/** Resizes to `width` × 768, checks the layout, and saves (and axe-checks) a screenshot. */
export async function noOverflowAt(page, width, name) {
  await page.setViewportSize({ width, height: 768 });
  // Let resize observers (the chart) and reflow settle.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const found = await page.evaluate(() => {
    const doc = document.documentElement;
    const bad = [];
    if (doc.scrollWidth > doc.clientWidth) bad.push(`the page is ${doc.scrollWidth} px wide in a ${doc.clientWidth} px window`);
    const scrollsSideways = (el) => {
      for (let p = el.parentElement; p; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX;
        if ((o === "auto" || o === "scroll") && p.scrollWidth > p.clientWidth) return true;
      }
      return false;
    };
    for (const th of document.querySelectorAll("th")) {
      if (!th.offsetParent || !th.textContent.trim()) continue;
      const text = th.textContent.trim();
      if (th.scrollWidth > th.clientWidth + 1) bad.push(`header “${text}” is cut inside its cell`);
      const r = th.getBoundingClientRect();
      // Out of the window's width is fine only where its table's own box scrolls to it.
      if ((r.right > doc.clientWidth + 1 || r.left < -1) && !scrollsSideways(th)) bad.push(`header “${text}” is outside the window (${Math.round(r.left)}–${Math.round(r.right)} px)`);
    }
    return bad;
  });
  assert.deepEqual(found, [], `layout at ${width} px`);
  await shot(page, name);
}
