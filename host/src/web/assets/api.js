// The API as the desktop speaks it: the session token, JSON calls with errors in plain
// words, and the live event stream.

const KEY = "switchboard.token";

/** The session token, if signed in. */
export function token() {
  return sessionStorage.getItem(KEY);
}

const SESSION = "switchboard.session";
const DRAFTS = "switchboard.drafts";

/** Signs in; keeps the token, the session's limits and who signed in for this tab. */
export async function signIn(username, password) {
  const res = await call("POST", "/api/v1/login", { username, password }, false);
  sessionStorage.setItem(KEY, res.token);
  sessionStorage.setItem(SESSION, JSON.stringify({
    user: username.toLowerCase(),
    idle_ms: res.idle_timeout_s * 1000,
    expires_at: res.expires_at,
    active_at: Date.now(),
  }));
  return res;
}

function session() {
  try { return JSON.parse(sessionStorage.getItem(SESSION)) || null; } catch { return null; }
}

/** A request the server counted as use of the session: the idle limit starts again. */
function touched() {
  const s = session();
  if (!s) return;
  s.active_at = Date.now();
  sessionStorage.setItem(SESSION, JSON.stringify(s));
}

/**
 * When the session ends unless it is used (`idle`) or whatever happens (`limit`), as the
 * server counts (the event stream is not use): `{ at, kind }`, or null if unknown. The
 * server notes use at most every 30 seconds, so the idle end is taken that much earlier.
 */
export function sessionEnd() {
  const s = session();
  if (!s || !s.idle_ms) return null;
  const idle = s.active_at + s.idle_ms - touchEvery(s.idle_ms);
  return idle < s.expires_at ? { at: idle, kind: "idle" } : { at: s.expires_at, kind: "limit" };
}

/** The session's idle limit as signed in, ms (0 when unknown). */
export function idleLimit() {
  return session()?.idle_ms || 0;
}

/** How often at most the server notes use of a session (as `api/auth.rs` does). */
function touchEvery(idleMs) {
  return Math.min(30000, idleMs / 4);
}

/** Uses the session (a plain request), so its idle limit starts again. */
export async function keepAlive() {
  await call("GET", "/api/v1/me");
}

/** The drafts kept for the signed-in user in this tab (see reply.js). */
export function savedDrafts() {
  const s = session();
  try {
    const kept = JSON.parse(sessionStorage.getItem(DRAFTS));
    return kept && s && kept.user === s.user ? kept.items : {};
  } catch { return {}; }
}

export function saveDrafts(items) {
  const s = session();
  if (s) sessionStorage.setItem(DRAFTS, JSON.stringify({ user: s.user, items }));
}

const WHY = "switchboard.signed-out-because";

/**
 * Forgets the session and goes back to the sign-in page, which says `why` (if given: the
 * session ended by itself). Signing out on purpose also ends the session on the server.
 */
export function signOut(why, endOnServer = false) {
  const held = token();
  if ((typeof why !== "string" || endOnServer) && held) {
    // keepalive: the request outlives the page it leaves.
    fetch("/api/v1/logout", { method: "POST", headers: { authorization: `Bearer ${held}` }, keepalive: true })
      .catch(() => {});
  }
  sessionStorage.removeItem(KEY);
  if (typeof why === "string") {
    // Ended by itself: the drafts wait for the same user's next sign-in in this tab. The
    // first reason stands: a request still under way, answered 401 for having no token
    // any more, must not replace "your session has ended" with the server's wording.
    if (held || !sessionStorage.getItem(WHY)) sessionStorage.setItem(WHY, why);
  } else {
    sessionStorage.removeItem(DRAFTS);
    sessionStorage.removeItem(SESSION);
  }
  location.assign("/");
}

/** Why the last session ended without the user signing out (read once). */
export function signedOutBecause() {
  const why = sessionStorage.getItem(WHY);
  sessionStorage.removeItem(WHY);
  return why;
}

/**
 * An API error: the HTTP status, the server's message, its machine-readable `code`
 * (`too_long`, ...) and the error's other fields (`limit`, `length`, ...) in `data`.
 */
export class ApiError extends Error {
  constructor(status, message, data = {}) {
    super(message);
    this.status = status;
    this.code = data.code || null;
    this.data = data;
  }
}

/**
 * Calls `/api/v1`: resolves with the JSON answer (or null for 204), rejects with an
 * ApiError whose message is what the server said. An expired session signs out.
 */
export async function call(method, path, body, auth = true, tries = 4) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (auth && token()) headers.authorization = `Bearer ${token()}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "The server cannot be reached. Check the connection and try again.");
  }
  if (res.status === 401 && auth) {
    let why = "Your session has ended. Please sign in again.";
    try { why = (await res.json()).error || why; } catch { /* not JSON */ }
    signOut(why);
    throw new ApiError(401, why);
  }
  // In a cluster, leadership moving between hosts answers 503 for a second or two: a
  // read is simply asked again; an action shows the message (it says to try again).
  if (res.status === 503 && method === "GET" && tries > 1
      && (res.headers.get("content-type") || "").includes("json")) {
    const wait = Math.min(5, Number(res.headers.get("retry-after")) || 1) * 1000;
    await new Promise((done) => setTimeout(done, wait));
    return call(method, path, body, auth, tries - 1);
  }
  if (auth && res.status !== 401) touched();
  if (res.status === 204) return null;
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) {
    const message = (json && (json.error || json.message)) || text || res.statusText;
    throw new ApiError(res.status, message, json && typeof json === "object" ? json : {});
  }
  return json;
}

/**
 * Posts `form` (a FormData with files) to `/api/v1` as multipart/form-data: resolves and
 * rejects as `call` does.
 */
export async function postForm(path, form) {
  const ended = "Your session has ended. Please sign in again.";
  // The session may have ended while the agent chose the files.
  if (!token()) {
    signOut(ended);
    throw new ApiError(401, ended);
  }
  let res;
  try {
    res = await fetch(path, { method: "POST", headers: { accept: "application/json", authorization: `Bearer ${token()}` }, body: form });
  } catch {
    throw new ApiError(0, "The server cannot be reached. Check the connection and try again.");
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (res.status === 401) {
    signOut(ended);
    throw new ApiError(401, ended);
  } else {
    touched();
  }
  if (!res.ok) {
    const message = (json && (json.error || json.message)) || text || res.statusText;
    throw new ApiError(res.status, message, json && typeof json === "object" ? json : {});
  }
  return json;
}

export const get = (path) => call("GET", path);
export const post = (path, body = {}) => call("POST", path, body);
export const put = (path, body) => call("PUT", path, body);
export const del = (path) => call("DELETE", path);

/**
 * Listens to the caller's live events (`offer`, `interaction`, `status`, `revoked`,
 * `message`). `onOpen` runs on every (re)connect so the page can reload its state:
 * notices sent while disconnected are not replayed.
 */
export function listen(handlers, onOpen) {
  const source = new EventSource(`/api/v1/events?token=${encodeURIComponent(token())}`);
  for (const [kind, fn] of Object.entries(handlers)) {
    source.addEventListener(kind, (e) => fn(JSON.parse(e.data)));
  }
  source.onopen = () => onOpen && onOpen();
  return source;
}

/** The signed-in user, or a trip back to the sign-in page. */
export async function me() {
  if (!token()) {
    location.assign("/");
    return new Promise(() => {});
  }
  return get("/api/v1/me");
}

/**
 * Downloads `path` (a CSV export) as a file named by the server, with the session's
 * token: a plain link could not carry it. Rejects with an ApiError as `call` does.
 */
export async function download(path, fallbackName) {
  let res;
  try {
    res = await fetch(path, { headers: { authorization: `Bearer ${token()}` } });
  } catch {
    throw new ApiError(0, "The server cannot be reached. Check the connection and try again.");
  }
  if (!res.ok) {
    let json = {};
    try { json = await res.json(); } catch { /* not JSON */ }
    if (res.status === 401) signOut(json.error);
    throw new ApiError(res.status, json.error || res.statusText, json);
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") || "")?.[1] || fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

/**
 * Fetches `path` (an attachment the host serves) with the session's token and answers a
 * `blob:` URL of it for an <img>, <audio> or <video>; the URL lives as long as the page.
 * Rejects with an ApiError as `call` does.
 */
export async function blobUrl(path) {
  let res;
  try {
    res = await fetch(path, { headers: { authorization: `Bearer ${token()}` } });
  } catch {
    throw new ApiError(0, "The server cannot be reached. Check the connection and try again.");
  }
  if (!res.ok) {
    let json = {};
    try { json = await res.json(); } catch { /* not JSON */ }
    if (res.status === 401) signOut(json.error);
    throw new ApiError(res.status, json.error || res.statusText, json);
  }
  return URL.createObjectURL(await res.blob());
}
