// Instagram in the agent's desktop: a comment on the account's media answered in public
// (and privately, once), and a direct message answered in private, each reaching the
// emulated Instagram API.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test instagram.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { useDemo, base, waitFor, emulatorPost, emulatorOutbound, signIn, shot, noErrors } from "./harness.mjs";
import { noOverflowAt } from "./overflow.mjs";

useDemo();

async function available(page) {
  await page.waitForURL(`${base}/agent`);
  await page.getByLabel("My status").selectOption("available");
  const token = await page.evaluate(() => sessionStorage.getItem("switchboard.token"));
  await waitFor(async () => (await (await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).json()).status === "available", "the agent to be available");
}

async function pickUp(page, text) {
  await page.locator("#my-list li.alerting").waitFor({ timeout: 15000 });
  await page.locator('#current-platform[data-platform="instagram"]').waitFor();
  await page.locator(".transcript").getByText(text).waitFor();
  await page.getByRole("toolbar").getByRole("button", { name: "Pick up" }).click();
  await page.locator("#current-state").filter({ hasText: "Connected" }).waitFor();
}

async function wrapUp(page) {
  await page.getByRole("button", { name: "Disconnect" }).click();
  const dialog = page.locator("#wrapup-dialog");
  await dialog.waitFor({ state: "visible" });
  await dialog.getByLabel("Wrap-up code").selectOption("Resolved");
  await dialog.getByRole("button", { name: "Save wrap-up" }).click();
  await page.locator("#my-list li").waitFor({ state: "detached" });
}

test("an agent answers an Instagram comment in public, then privately once", async () => {
  const page = await signIn("agent1");
  await available(page);
  const text = `Does it come in blue? ${Date.now() % 100000}`;
  const { comment_id } = await emulatorPost("/_emulator/instagram/comments", { username: "sheena_b", text });
  await pickUp(page, text);
  await shot(page, "instagram-comment");

  const reply = `Yes, in blue too! ${Date.now() % 1000}`;
  await page.getByLabel("Reply text").fill(reply);
  await page.getByRole("button", { name: "Send public reply" }).click();
  await page.getByText("Reply sent.").waitFor();
  const pub = await waitFor(async () => (await emulatorOutbound()).find((o) => o.platform === "instagram" && o.kind === "reply" && o.text === reply), "the public reply at the emulator");
  assert.equal(pub.target_id, comment_id, "it answers the customer's comment");

  // A private reply to the comment: allowed once.
  await page.getByRole("radio", { name: /Private/ }).check();
  const dm = `I sent you the link in private. ${Date.now() % 1000}`;
  await page.getByLabel("Reply text").fill(dm);
  await page.getByRole("button", { name: "Send private reply" }).click();
  await page.getByText("Reply sent.").waitFor();
  await waitFor(async () => (await emulatorOutbound()).find((o) => o.platform === "instagram" && o.kind === "private_reply" && o.text === dm), "the private reply at the emulator");
  await shot(page, "instagram-comment-answered");
  await wrapUp(page);
  noErrors(page);
  await page.context().close();
});

test("an agent answers an Instagram direct message in private", async () => {
  const page = await signIn("agent1");
  await available(page);
  const text = `Where is my parcel? ${Date.now() % 100000}`;
  await emulatorPost("/_emulator/instagram/messages", { username: "marco_p", name: "Marco P", text });
  await pickUp(page, text);
  // A direct message offers no public reply.
  assert.equal(await page.getByRole("radio", { name: /Public/ }).count(), 0);
  const reply = `It ships today, Marco. ${Date.now() % 1000}`;
  await page.getByLabel("Reply text").fill(reply);
  await page.getByRole("button", { name: "Send reply" }).click();
  await page.getByText("Reply sent.").waitFor();
  await waitFor(async () => (await emulatorOutbound()).find((o) => o.platform === "instagram" && o.kind === "message" && o.text === reply), "the DM at the emulator");
  await shot(page, "instagram-dm");
  await noOverflowAt(page, 800, "an Instagram DM");
  await shot(page, "instagram-dm-800");
  await wrapUp(page);
  noErrors(page);
  await page.context().close();
});
