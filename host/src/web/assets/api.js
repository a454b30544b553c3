// The API as the desktop speaks it: the session token, JSON calls with errors in plain
// words, and the live event stream.

const KEY = "switchboard.token";

/** The session token, if signed in. */
export function token() {
  return sessionStorage.getItem(KEY);
}

/** Signs in; keeps the token for this tab. */
export async function signIn(username, password) {
  const res = await call("POST", "/api/v1/login", { username, password }, false);
  sessionStorage.setItem(KEY, res.token);
  return res;
}

const WHY = "switchboard.signed-out-because";

/**
 * Forgets the session and goes back to the sign-in page, which says `why` (if given: the
 * session ended by itself). Signing out on purpose also ends the session on the server.
 */
export function signOut(why) {
  const held = token();
  if (typeof why !== "string" && held) {
    // keepalive: the request outlives the page it leaves.
    fetch("/api/v1/logout", { method: "POST", headers: { authorization: `Bearer ${held}` }, keepalive: true })
      .catch(() => {});
  }
  sessionStorage.removeItem(KEY);
  if (typeof why === "string") sessionStorage.setItem(WHY, why);
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
export async function call(method, path, body, auth = true) {
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
