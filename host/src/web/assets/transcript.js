// The transcript of an interaction, drawn the way the customer saw it: a public
// conversation as the post with its comment thread, direct messages as chat bubbles.
// Used by the agent's Current Interaction and the supervisor's detail view.

import { h, words, handle, timeAgo } from "/assets/ui.js";
import { linkified } from "/assets/linkify.js";
import { attachment } from "/assets/attachments.js";

/**
 * The transcript element for an interaction detail (`GET /api/v1/interactions/{id}`).
 * With `moderate(message, action)`, public messages get Hide and Delete buttons where the
 * platform allows them; with `resend(reply)`, a reply whose delivery is unknown or that
 * failed gets a Resend button.
 */
export function transcript(detail, moderate = null, resend = null) {
  const box = h("div", { class: "transcript", role: "log", "aria-label": "Transcript", tabindex: "0" });
  if (!detail.messages.length) {
    box.append(h("p", { class: "muted" }, "No messages yet."));
  } else if (detail.media_type === "social_conversation") {
    box.append(...thread(detail.messages, moderate && ((m) => tools(detail.platform, m, moderate)), detail.platform));
  } else {
    box.append(h("div", { class: "bubbles" }, detail.messages.map((m) => bubble(m, detail.platform))));
  }
  const undelivered = (detail.outbound || []).filter((o) => o.state !== "sent");
  if (undelivered.length) box.append(h("div", {}, undelivered.map((o) => pendingReply(o, resend))));
  return box;
}

/** Posts and comments as a tree: each message under the one it answers. */
function thread(messages, toolsOf, platform) {
  const ids = new Set(messages.map((m) => m.platform_message_id));
  const children = new Map();
  const roots = [];
  for (const m of messages) {
    if (m.parent_id && ids.has(m.parent_id)) {
      if (!children.has(m.parent_id)) children.set(m.parent_id, []);
      children.get(m.parent_id).push(m);
    } else {
      roots.push(m);
    }
  }
  const node = (m, depth) => {
    const kids = children.get(m.platform_message_id) || [];
    const el = h(
      depth === 0 ? "article" : "li",
      { class: `${depth === 0 ? "post" : "comment"} ${m.direction === "outbound" ? "ours" : ""}`, dataset: { mid: m.platform_message_id, at: m.created_at } },
      byline(m),
      body(m, platform),
      toolsOf && !m.deleted ? toolsOf(m) : null,
      kids.length ? h("ul", { class: "comments" }, kids.map((k) => node(k, depth + 1))) : null,
    );
    return el;
  };
  return roots.map((m) => node(m, 0));
}

/** Hide (customers' comments, Facebook) and Delete (their comments on Facebook, ours anywhere). */
function tools(platform, m, moderate) {
  // The page may hide or delete comments on its posts; a customer's own post is theirs.
  const ours = m.direction === "outbound";
  const comment = Boolean(m.parent_id);
  const canHide = !ours && comment && platform === "facebook" && !m.hidden;
  const canDelete = ours || (comment && platform === "facebook");
  if (!canHide && !canDelete) return null;
  const who = ours ? "our message" : `the comment by ${m.author}`;
  return h("div", { class: "row small" },
    canHide ? h("button", { onclick: () => moderate(m, "hide"), "aria-label": `Hide ${who}` }, "Hide") : null,
    canDelete ? h("button", { class: "danger", onclick: () => moderate(m, "delete"), "aria-label": `Delete ${who}` }, "Delete") : null);
}

function bubble(m, platform) {
  return h(
    "div",
    { class: `bubble ${m.direction === "outbound" ? "ours" : ""}`, dataset: { mid: m.platform_message_id, at: m.created_at } },
    body(m, platform),
    h("div", { class: "meta" }, m.author, " · ", timeAgo(m.created_at), delivery(m)),
  );
}

function byline(m) {
  return h(
    "div",
    { class: "meta" },
    h("strong", {}, m.author),
    m.author_handle ? ` ${handle(m.author_handle)}` : "",
    " · ",
    timeAgo(m.created_at),
    m.visibility === "private" && m.direction === "outbound" ? " · private reply" : "",
    m.hidden ? [" · ", h("span", { class: "badge warn" }, "Hidden from the public")] : null,
    delivery(m),
  );
}

/** A message's text, its addresses, mentions and hashtags as safe links (linkify.js). */
function body(m, platform) {
  if (m.deleted) return h("div", { class: "deleted" }, "Removed on the platform; its content was erased.");
  return h("div", {}, h("div", { class: "text" }, linkified(m.text, platform)), (m.attachments || []).map(attachment));
}

function delivery(m) {
  if (m.direction !== "outbound" || !m.delivery) return null;
  const failed = m.delivery === "failed";
  return h(
    "span",
    {},
    " · ",
    h("span", { class: `badge ${failed ? "failed" : "good"}`, title: m.delivery_error || "" }, words(m.delivery)),
    failed && m.delivery_error ? h("span", { class: "small" }, ` ${m.delivery_error}`) : null,
  );
}

/** What the agent reads first about a reply that is not (yet) delivered, by its state. */
const UNDELIVERED = {
  failed: "Not delivered: ",
  unknown: "Delivery unknown: ",
  suppressed: "Not sent: ",
};

/** A reply still being sent or waiting for its time, one the platform refused, or one
 *  whose delivery is unknown (the platform may or may not have it): the last two can be
 *  resent, deliberately. */
function pendingReply(o, resend) {
  const bad = o.state === "failed" || o.state === "unknown";
  const again = resend && (o.state === "failed" || o.state === "unknown")
    ? h("button", { type: "button", class: "small", onclick: () => resend(o) }, "Resend")
    : null;
  return h(
    "div",
    { class: `notice ${bad ? "bad" : ""} small`, dataset: { outbound: o.id, state: o.state } },
    h("strong", {}, UNDELIVERED[o.state] || "Sending… "),
    `“${o.text || (o.template ? `template ${o.template.name}` : "")}”`,
    o.last_error ? h("div", {}, plainError(o.last_error)) : null,
    again,
  );
}

/** A platform error as an agent reads it: what it means first, then the platform's own
 *  words without our plumbing ("plugin `x` on channel `y`: send: rejected:"). */
export function plainError(raw) {
  const text = String(raw ?? "")
    .replace(/^plugin `[^`]*` on channel `[^`]*`:\s*/, "")
    .replace(/^(?:send|reply|deliver|hide|unhide|delete|moderate):\s*/, "")
    .replace(/^(?:rejected|transient|permanent|refused):\s*/, "");
  const rules = [
    [/already replied privately|one private reply per comment|#10900/i, "Facebook allows one private reply per comment, and this comment already has one.", true],
    [/131047|24.?hour|re-engagement/i, "The customer last wrote more than 24 hours ago: only an approved template can be sent now."],
    [/blocked region|not allowed to message/i, "This number is in a region the business may not message."],
    [/rate limit|429|too many/i, "The platform is limiting how fast we may send. The reply will be retried."],
    [/7 days|human.agent/i, "The conversation is too old to answer on this platform."],
  ];
  const match = rules.find(([re]) => re.test(text));
  // Where our words say all of it, the platform's are left out.
  if (match) return match[2] ? match[1] : `${match[1]} (${text})`;
  return text;
}
