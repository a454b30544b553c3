// The sign-in page: checks the credentials, then opens the first page the user's rights
// allow, widest first: administrators land on the administrator's page, supervisors on
// theirs, agents on the agent desktop.

import { signIn, get, token, signedOutBecause } from "/assets/api.js";
import { pagesFor, landingFor } from "/assets/ui.js";

const form = document.getElementById("login");
const error = document.getElementById("login-error");

async function land() {
  const me = await get("/api/v1/me");
  const pages = pagesFor(me.rights);
  if (!pages.length) throw new Error("This user has no desktop right (agent, supervisor or social_media_admin).");
  const wanted = new URLSearchParams(location.search).get("next");
  location.assign(pages.some((p) => p.path === wanted) ? wanted : landingFor(me.rights).path);
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  error.classList.add("hidden");
  const data = new FormData(form);
  try {
    await signIn(data.get("username"), data.get("password"));
    await land();
  } catch (err) {
    error.textContent = err.message;
    error.classList.remove("hidden");
  }
});

// Sent back here because the session ended: say so.
const why = signedOutBecause();
if (why) {
  error.textContent = why;
  error.classList.remove("hidden");
}

// Already signed in in this tab: go straight on.
if (token()) land().catch(() => {});
