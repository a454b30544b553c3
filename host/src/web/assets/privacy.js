// The administrator's Retention and privacy screen: the retention period of each channel,
// when the purge ran and runs next (and running it now), and one customer's data found by
// name, exported for an access request or erased.

import * as api from "/assets/api.js";
import { h, fill, when, toast, attempt } from "/assets/ui.js";

function kept(days) {
  return days == null ? "Until the customer is erased" : `${days} day${days === 1 ? "" : "s"} after the interaction ends`;
}

export async function retentionScreen(panel) {
  const r = await api.get("/api/v1/retention");
  const results = h("ul", { class: "plain customer-results", "aria-live": "polite" });
  const q = h("input", { type: "search", name: "q", placeholder: "name or handle", autocomplete: "off", required: true, minlength: 2 });
  fill(
    panel,
    h("h2", {}, "Retention and privacy"),
    h("p", {}, r.days == null
      ? "No retention period is set ([retention] days): customers' messages and personal data are kept until a customer is erased."
      : `Customers' messages and personal data are removed ${r.days} days after their interaction ends ([retention] days), unless a channel sets its own period. Reports keep their anonymised figures.`),
    h("table", { "aria-label": "Retention per channel" },
      h("thead", {}, h("tr", {}, h("th", {}, "Channel"), h("th", {}, "Content kept"))),
      h("tbody", {}, r.channels.map((c) => h("tr", { dataset: { channel: c.channel } },
        h("td", {}, c.channel), h("td", {}, kept(c.days), c.own ? h("span", { class: "muted small" }, " (the channel's own)") : null))))),
    h("p", { id: "retention-runs" },
      r.last_run_at ? `Last run ${when(r.last_run_at)}: ${r.last_scrubbed} interaction${r.last_scrubbed === 1 ? "" : "s"} cleared. ` : "Not run yet. ",
      r.next_run_at ? `Next run ${when(r.next_run_at)}.` : "It runs within the hour after the host starts leading."),
    h("button", { onclick: async () => {
      const run = await attempt(() => api.post("/api/v1/retention/run"));
      if (run) { toast(`Retention run: ${run.scrubbed} interaction${run.scrubbed === 1 ? "" : "s"} cleared.`); retentionScreen(panel); }
    } }, "Run now"),
    h("h3", {}, "A customer's data"),
    h("p", { class: "muted small" }, "For an access request, export everything kept about a customer; for an erasure request, erase it. Erasing removes their messages and personal data everywhere and cannot be undone; the audit log records who erased, not what."),
    h("form", { class: "search", "aria-label": "Find a customer", onsubmit: async (e) => {
      e.preventDefault();
      const found = await attempt(() => api.get(`/api/v1/contacts?q=${encodeURIComponent(q.value)}`));
      if (found) drawCustomers(results, found, panel);
    } }, h("label", {}, "Customer ", q), h("button", { class: "primary" }, "Find")),
    results,
  );
}

function drawCustomers(results, found, panel) {
  fill(results, found.length
    ? found.map((c) => h("li", { dataset: { contact: c.id } },
      h("strong", {}, c.name || "not named"), h("span", { class: "muted small" }, ` contact #${c.id} · since ${when(c.created_at)} `),
      h("button", { onclick: async () => {
        try {
          const name = await api.download(`/api/v1/contacts/${c.id}/export`, `contact-${c.id}.json`);
          toast(`Exported ${name}.`);
        } catch (e) { toast(e.message, "bad"); }
      } }, "Export"), " ",
      h("button", { class: "danger", onclick: async () => {
        if (!confirm(`Erase everything kept about ${c.name || `contact #${c.id}`}? This cannot be undone.`)) return;
        const done = await attempt(() => api.post(`/api/v1/contacts/${c.id}/erase`));
        if (done) { toast(`Erased: ${done.interactions} interaction${done.interactions === 1 ? "" : "s"} cleared.`); retentionScreen(panel); }
      } }, "Erase…")))
    : h("li", { class: "muted" }, "No customer matches."));
}
