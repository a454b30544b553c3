// Attachments in the agent's desktop: a customer's photo shown inline (fetched from the
// host, never from the platform), a document to download, a location with a map link, a
// kind Switchboard does not know labelled; a file that could not be downloaded says why;
// the agent attaches an image and sends it, and a file the platform would refuse is
// refused before sending.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test attachments.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { useDemo, base, emulator, waitFor, emulatorPost, emulatorOutbound, signIn, shot, noErrors } from "./harness.mjs";
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

/** A 1×1 PNG. */
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");

test("a customer's photo, document, location and an unknown kind are shown, served by the host", async () => {
  const page = await signIn("agent1");
  const requested = [];
  page.on("request", (r) => requested.push(r.url()));
  await available(page);
  const text = `The box arrived like this ${Date.now() % 100000}`;
  await emulatorPost("/_emulator/messenger/messages", {
    page_id: "1001", name: "Ann Lee", text,
    attachments: [
      { type: "image" },
      { type: "file" },
      { type: "location", lat: 52.3702, long: 4.8952, title: "Dam Square" },
      { type: "holo_gram", title: "something new" },
    ],
  });
  await pickUp(page, text);
  const transcript = page.locator(".transcript");
  const img = transcript.locator("img.thumbnail");
  await waitFor(async () => (await img.getAttribute("src"))?.startsWith("blob:"), "the photo loaded from the host");
  await waitFor(async () => img.evaluate((el) => el.complete && el.naturalWidth > 0), "the photo decoded");
  await transcript.getByRole("button", { name: /Download document/ }).waitFor();
  const map = transcript.getByRole("link", { name: "open the map" });
  assert.match(await map.getAttribute("href"), /^https:\/\/www\.openstreetmap\.org\/\?mlat=52\.3702&mlon=4\.8952/);
  assert.equal(await map.getAttribute("rel"), "noopener noreferrer nofollow");
  await transcript.getByText("Dam Square", { exact: false }).waitFor();
  await transcript.getByText("Content Switchboard cannot show yet (holo_gram)", { exact: false }).waitFor();
  // The browser never asked the platform (or anyone but the host) for the files.
  const elsewhere = requested.filter((u) => !u.startsWith(base) && !u.startsWith("blob:") && !u.startsWith("data:"));
  assert.deepEqual(elsewhere, [], "only the host was asked");
  assert.ok(!requested.some((u) => u.includes("meta-cdn")), "the platform's CDN was never loaded");
  await shot(page, "attachments-inbound");
  await noOverflowAt(page, 800, "a message with attachments");
  await wrapUp(page);
  noErrors(page);
  await page.context().close();
});

test("a file that cannot be downloaded says why, and the message is answered all the same", async () => {
  const page = await signIn("agent1");
  await available(page);
  const text = `See the photo ${Date.now() % 100000}`;
  await emulatorPost("/_emulator/messenger/messages", {
    page_id: "1001", name: "Bo Chen", text,
    attachments: [{ type: "image", url: `${emulator}/_emulator/meta-cdn/expired-link.png` }],
  });
  await pickUp(page, text);
  // The desktop redraws as the host tries; the reason shows once the first try failed.
  await waitFor(async () => {
    await page.locator("#my-list li").first().click();
    return (await page.locator(".transcript").getByText(/Photo: not yet available.*404/).count()) > 0;
  }, "the failed download's reason");
  await shot(page, "attachments-not-yet-available");
  await wrapUp(page);
  await page.context().close();
});

test("an agent attaches an image and sends it; a file the platform refuses is refused first", async () => {
  const page = await signIn("agent1");
  await available(page);
  const text = `Can you send the label? ${Date.now() % 100000}`;
  await emulatorPost("/_emulator/messenger/messages", { page_id: "1001", name: "Cy Diaz", text });
  await pickUp(page, text);
  const attach = page.getByRole("button", { name: /Attach file/ });
  await attach.waitFor();

  // Too large for Messenger: refused in the box, nothing sent.
  const huge = Buffer.concat([PNG, Buffer.alloc(26 * 1024 * 1024 - PNG.length)]);
  await page.locator("#reply-file").setInputFiles({ name: "huge.png", mimeType: "image/png", buffer: huge });
  await page.locator("#reply-error").getByText(/huge\.png is 26 MB; .* up to/).waitFor();
  await shot(page, "attachments-refused");

  await page.locator("#reply-file").setInputFiles({ name: "label.png", mimeType: "image/png", buffer: PNG });
  await page.getByRole("list", { name: "Files to send" }).getByText("label.png").waitFor();
  assert.equal(await page.locator("#reply-error").isHidden(), true, "the refusal is gone");
  await page.getByLabel("Reply text").fill("Here is your label.");
  await shot(page, "attachments-chosen");
  await page.getByRole("button", { name: "Send reply" }).click();
  await page.getByText("Reply sent.").waitFor();
  const uploads = await waitFor(async () => {
    const list = await (await fetch(`${emulator}/_emulator/messenger/uploads`)).json();
    return list.length ? list : null;
  }, "the upload at the emulator");
  assert.equal(uploads.length, 1);
  assert.equal(uploads[0].size, PNG.length, "the file arrived whole");
  await waitFor(async () => (await emulatorOutbound()).find((o) => o.platform === "messenger" && o.kind === "image"), "the image sent");
  assert.equal(await page.getByRole("list", { name: "Files to send" }).locator("li").count(), 0, "the box is empty again");
  // The agent's own image shows in the transcript, from the host.
  await waitFor(async () => (await page.locator(".transcript img.thumbnail").count()) > 0, "the sent image in the transcript");
  await shot(page, "attachments-sent");
  await noOverflowAt(page, 800, "a reply with a file");
  await wrapUp(page);
  noErrors(page);
  await page.context().close();
});

test("a file sent after the session ended signs the agent out in plain words", async () => {
  const page = await signIn("agent1");
  await available(page);
  const text = `Send me the form ${Date.now() % 100000}`;
  await emulatorPost("/_emulator/messenger/messages", { page_id: "1001", name: "Eve Ended", text });
  await pickUp(page, text);
  // Signed out elsewhere while the agent was choosing the file.
  const token = await page.evaluate(() => sessionStorage.getItem("switchboard.token"));
  await fetch(`${base}/api/v1/logout`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
  await page.locator("#reply-file").setInputFiles({ name: "form.png", mimeType: "image/png", buffer: PNG });
  await page.getByLabel("Reply text").fill("Here is the form.");
  await page.getByRole("button", { name: "Send reply" }).click();
  // (The page may be sent to the sign-in page twice over: wait for where it lands.)
  await page.getByText("Your session has ended. Please sign in again.").waitFor({ timeout: 15000 });
  assert.equal(new URL(page.url()).pathname, "/");
  assert.equal(await page.getByText(/Authorization/).count(), 0, "no developer wording");
  await shot(page, "attachments-session-ended");
  await page.context().close();
});
