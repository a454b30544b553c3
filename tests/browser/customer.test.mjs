// The customer's history (issue 16): the agent reads the thread's earlier conversation
// beside a new comment, opens the customer's panel, links their Messenger identity to
// their comments, and opens an earlier interaction's transcript.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test --test-concurrency=1 customer.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { useDemo, base, emulatorPost, signIn, shot, noErrors, PAGE_ID } from "./harness.mjs";

useDemo();

const unique = () => Date.now().toString(36).slice(-5);

async function take(page, name) {
  const offer = page.locator("#my-list li.alerting", { hasText: name });
  await offer.waitFor({ timeout: 15000 });
  await offer.getByRole("button").click();
  await page.getByRole("toolbar").getByRole("button", { name: "Pick up" }).click();
  await page.locator("#current-state").filter({ hasText: "Connected" }).waitFor();
}

async function end(page) {
  await page.getByRole("toolbar").getByRole("button", { name: "Disconnect" }).click();
  // The workgroup's wrap-up is optional: the agent saves the code offered.
  await page.getByRole("button", { name: "Save wrap-up" }).click();
  await page.getByRole("button", { name: "Save wrap-up" }).waitFor({ state: "hidden" });
}

test("the agent reads the earlier conversation, links the customer's identities and opens their history", async () => {
  const page = await signIn("agent1");
  await page.waitForURL(`${base}/agent`);
  await page.getByLabel("My status").selectOption("available");
  const name = `Nora ${unique()}`;
  const post = await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: "Acme Outfitters", author_id: PAGE_ID, text: "Winter sale!" });
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, post_id: post.post_id, parent_id: post.post_id, author_name: name, text: "Is the blue coat in stock?" });
  await take(page, name);
  await end(page);

  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, post_id: post.post_id, parent_id: post.post_id, author_name: name, text: "Still waiting on the coat" });
  await take(page, name);
  const earlier = page.locator("details#earlier");
  await earlier.waitFor();
  assert.match(await earlier.locator("summary").textContent(), /Earlier in this conversation \(\d+ messages?\)/);
  await earlier.locator("summary").click();
  await earlier.getByText("Is the blue coat in stock?").waitFor();
  await shot(page, "customer-earlier");

  const customer = page.locator("details#customer");
  await customer.locator("summary").click();
  await customer.getByText("1 earlier interaction").waitFor();
  await customer.getByLabel("Notes").fill("Asks about coats.");
  await customer.getByRole("button", { name: "Save" }).click();
  await page.getByText("Contact saved.").waitFor();
  await end(page);

  // On Messenger she is another identity until the agent links them.
  await emulatorPost("/_emulator/messenger/messages", { page_id: PAGE_ID, name, text: "hi, it's me on Messenger" });
  await take(page, name);
  const dm = page.locator("details#customer");
  await dm.locator("summary").click();
  await dm.getByText("None: this is their first.").waitFor();
  await dm.getByLabel("Link another identity of this person").fill(name);
  await dm.getByRole("button", { name: "Find" }).click();
  await dm.locator(".link-results li", { hasText: name }).getByRole("button", { name: "Link" }).click();
  await page.getByText(`Linked: ${name} is the same person.`).waitFor();
  await dm.getByText("2 earlier interactions").waitFor();
  assert.equal(await dm.locator("ul.identities li").count(), 2);
  assert.deepEqual(await dm.locator("ul.identities li strong").allTextContents(), ["Facebook", "Messenger"]);
  assert.equal(await dm.getByLabel("Notes").inputValue(), "Asks about coats.", "the linked contact's notes are kept");
  await shot(page, "customer-linked");

  await dm.locator("ul.history li").first().getByRole("button").click();
  const past = page.locator("#past-dialog");
  await past.getByText("Still waiting on the coat").waitFor();
  await shot(page, "customer-past-interaction");
  await past.getByRole("button", { name: "Close" }).click();
  await past.waitFor({ state: "hidden" });

  // The agent's own history: what they ended, searchable by words.
  await page.getByRole("button", { name: "My history" }).click();
  const history = page.locator("#history-dialog");
  await history.locator("#history-list li").first().waitFor();
  assert.equal(await history.locator("#history-list li").count(), 2);
  await history.getByLabel("Text").fill("blue coat");
  await history.getByRole("button", { name: "Search" }).click();
  await history.getByText("1 found.").waitFor();
  await shot(page, "customer-my-history");
  await history.locator("#history-list li").getByRole("button").click();
  await past.getByText("Is the blue coat in stock?").waitFor();
  await past.getByRole("button", { name: "Close" }).click();
  await history.getByRole("button", { name: "Close" }).click();

  // A search that finds nobody says so.
  await dm.getByLabel("Link another identity of this person").fill("zz-nobody-zz");
  await dm.getByRole("button", { name: "Find" }).click();
  await dm.getByText("No other contact matches.").waitFor();
  await page.setViewportSize({ width: 800, height: 768 });
  await shot(page, "customer-800");
  noErrors(page);
  await page.context().close();
});
