// The reply box's counter (host/src/web/assets/textlength.js) against the fixtures the
// server's counting passes too: tests/fixtures/text-length.json. No browser needed.
//
//   node --test textlength.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { measure } from "../../host/src/web/assets/textlength.js";

const cases = JSON.parse(readFileSync(resolve(import.meta.dirname, "../fixtures/text-length.json"), "utf8"));

test("the fixtures are there and cover both ways of counting", () => {
  assert.ok(cases.length >= 10, `only ${cases.length} cases`);
  assert.ok(cases.some((c) => c.counting === "x"));
  assert.ok(cases.some((c) => c.counting === "characters"));
});

for (const c of cases) {
  const name = c.text.length > 40 ? `${c.text.slice(0, 40)}… (${c.text.length} UTF-16 units)` : c.text;
  test(`${c.counting}: ${JSON.stringify(name)} is ${c.length}`, () => {
    assert.equal(measure(c.text, c.counting), c.length);
  });
}

test("X's limit: 280 fits, 281 does not, and a link counts 23 however long", () => {
  assert.equal(measure("a".repeat(280), "x"), 280);
  assert.equal(measure("a".repeat(281), "x"), 281);
  assert.equal(measure(`https://example.com/${"p".repeat(500)}`, "x"), 23);
  assert.equal(measure("中".repeat(141), "x"), 282);
});
