// Supervisors move a stuck conversation (issue 16): refused in plain words for an agent who
// is away, then taken over by a supervisor who is an agent too. A file of its own: it needs
// a queue with nothing else waiting, so the take-over's offer is the only one.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test --test-concurrency=1 moves.test.mjs

import { test } from "node:test";
import { useDemo, base, emulatorPost, signIn, shot, noErrors, PAGE_ID } from "./harness.mjs";

useDemo();

test("the supervisor moves a stuck conversation: refused for an agent who is away, then taken over", async () => {
  const name = `Mo ${Date.now().toString(36).slice(-5)}`;
  const agent = await signIn("agent1");
  await agent.waitForURL(`${base}/agent`);
  await agent.getByLabel("My status").selectOption("available");
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: name, text: "nobody answers me" });
  const offer = agent.locator("#my-list li.alerting", { hasText: name });
  await offer.waitFor({ timeout: 15000 });
  await offer.getByRole("button").click();
  await agent.getByRole("toolbar").getByRole("button", { name: "Pick up" }).click();
  await agent.locator("#current-state").filter({ hasText: "Connected" }).waitFor();

  // The administrator is an agent too: available on the agent page, ready to take it.
  const desk = await signIn("admin");
  await desk.waitForURL(/\/admin/);
  await desk.goto(`${base}/agent`);
  await desk.getByLabel("My status").selectOption("available");

  const page = await signIn("admin");
  await page.waitForURL(/\/admin/);
  await page.goto(`${base}/supervisor`);
  await page.locator("#search").getByLabel("Author").fill(name);
  await page.locator("#search").getByRole("button", { name: "Search" }).click();
  await page.locator("#results tbody tr", { hasText: name }).getByRole("button").click();
  const move = page.locator("form.move-form");
  await move.waitFor();
  await move.getByLabel("Move to").selectOption({ label: "Blair Agent" });
  await move.getByLabel("Why").fill("agent1 is in a meeting");
  await move.getByRole("button", { name: "Move" }).click();
  await page.locator("#toast .notice.bad").filter({ hasText: "not available" }).waitFor();
  await shot(page, "supervisor-move-refused");

  await move.getByRole("button", { name: "Take over" }).click();
  await page.getByText(/is offered to you on the agent page/).waitFor();
  await desk.locator("#my-list li.alerting", { hasText: name }).waitFor({ timeout: 15000 });
  await agent.locator("#my-list li", { hasText: name }).waitFor({ state: "detached" });
  await page.locator("#trace li[data-kind=reassigned_by_supervisor]").filter({ hasText: "agent1 is in a meeting" }).waitFor();
  await shot(page, "supervisor-taken-over");
  noErrors(page);
  for (const p of [page, desk, agent]) await p.context().close();
});
