// Attachments in the agent's desktop: a customer's photo shown inline (fetched from the
// host, never from the platform), a document to download, a location with a map link, a
// kind Switchboard does not know labelled; a file that could not be downloaded says why;
// the agent attaches an image and sends it, and a file the platform would refuse is
// refused before sending. Apple, where every file is encrypted: the customer's photo and PDF
// shown (decrypted by the host), and the agent's image arriving whole at the gateway.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test attachments.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
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

test("Apple: a customer's encrypted photo and PDF are shown from the host; the agent's image goes out encrypted and whole", async () => {
  const page = await signIn("agent1");
  await page.setViewportSize({ width: 1366, height: 900 });
  const requested = [];
  page.on("request", (r) => requested.push(r.url()));
  await available(page);
  // (The demo subscribes acme-biz's webhook itself, as it does for the other platforms.)
  const tag = Date.now() % 100000;
  const source = `urn:mbid:AQAAY-files-${tag}`;
  const text = `My parcel came damaged ${tag}`;
  await emulatorPost("/_emulator/apple/messages", {
    business_id: "acme-biz", source_id: source, type: "text", body: text,
    attachments: [{ name: "parcel.png", mime_type: "image/png" }, { name: "terms.pdf", mime_type: "application/pdf" }],
  });
  await page.locator('#current-platform[data-platform="apple"]').waitFor({ timeout: 20000 });
  await pickUp(page, text);
  const transcript = page.locator(".transcript");
  // The photo: decrypted by the host, fetched from it into a blob: URL, and decodable.
  const img = transcript.locator("img.thumbnail");
  await waitFor(async () => {
    // The desktop redraws as the host downloads; a fresh look at the conversation shows the stored file.
    if (!(await img.count())) await page.locator("#my-list li").first().click();
    return (await img.first().getAttribute("src"))?.startsWith("blob:");
  }, "the Apple photo loaded from the host");
  await waitFor(async () => img.first().evaluate((el) => el.complete && el.naturalWidth > 0), "the Apple photo decoded");
  assert.equal(await img.count(), 1, "one photo inline");
  await transcript.getByRole("link", { name: "Open parcel.png full size" }).waitFor();
  // The PDF: a download, named as the customer's file.
  const pdf = transcript.getByRole("button", { name: "Download terms.pdf" });
  await pdf.waitFor();
  assert.match(await pdf.textContent(), /terms\.pdf/);
  assert.equal(await transcript.getByText(/could not be downloaded|not yet available/).count(), 0, "both files stored");
  const elsewhere = requested.filter((u) => !u.startsWith(base) && !u.startsWith("blob:") && !u.startsWith("data:"));
  assert.deepEqual(elsewhere, [], "only the host was asked, never Apple's content servers");
  await shot(page, "attachments-apple-inbound");

  // The agent answers with the 1×1 PNG.
  await page.getByRole("button", { name: /Attach file/ }).waitFor();
  await page.locator("#reply-file").setInputFiles({ name: "return-label.png", mimeType: "image/png", buffer: PNG });
  await page.getByRole("list", { name: "Files to send" }).getByText("return-label.png").waitFor();
  assert.equal(await page.locator("#reply-error").isHidden(), true, "Apple accepts the file");
  await page.getByLabel("Reply text").fill("Here is your return label.");
  await shot(page, "attachments-apple-chosen");
  await page.getByRole("button", { name: "Send reply" }).click();
  await page.getByText("Reply sent.").waitFor();
  const files = await waitFor(async () => {
    const list = await (await fetch(`${emulator}/_emulator/apple/files/acme-biz`)).json();
    return list.length ? list : null;
  }, "the file at the Apple emulator");
  assert.equal(files.length, 1, "exactly one file sent");
  assert.equal(files[0].name, "return-label.png");
  assert.equal(files[0].size, PNG.length, "the file arrived whole");
  assert.equal(files[0].sha256, createHash("sha256").update(PNG).digest("hex"), "decrypted, the file is the agent's PNG");
  await waitFor(async () => (await emulatorOutbound()).find((o) => o.platform === "apple" && o.target_id === source && o.id === files[0].message_id), "the message carrying the file");
  // The agent's own image shows in the transcript from the host, and the customer's still does.
  await waitFor(async () => {
    const imgs = transcript.locator("img.thumbnail");
    return (await imgs.count()) === 2 && (await imgs.evaluateAll((els) =>
      els.every((el) => el.src.startsWith("blob:") && el.complete && el.naturalWidth > 0)));
  }, "both photos in the transcript decoded");
  await shot(page, "attachments-apple-sent");
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
