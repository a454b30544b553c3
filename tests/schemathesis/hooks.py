"""Schemathesis hooks for `cargo xtask schemathesis` (loaded with SCHEMATHESIS_HOOKS=hooks).

The run signs in as the demo's administrator and must stay honest:

- Auth: `AdminToken` signs in through `POST /api/v1/login`; Schemathesis calls it again
  when the host refuses the token (401), so a session that ended does not turn the rest
  of the run into a string of 401s.
- The administrator itself is never changed or deleted (its own user id is swapped for
  another user's before the request goes out): a new password or fewer rights would end
  the run's session, and deleting it is refused anyway.
- Props: random ids and names almost never name a real resource, so most operations
  would only ever answer 400/404/409. For about half the cases of an operation that
  needs a resource in a given state (an offered conversation to pick up, a held one to
  resume, a fresh user to delete), `before_call` prepares one through the API and the
  emulator and points the case at it; the other half keep their generated values.
- Tally: every response's status, per operation, is written to $SWITCHBOARD_TALLY at
  exit; `coverage.py` then fails the run if an operation never got a 2xx.
"""

import atexit
import itertools
import json
import os
import random
import threading
import time
from collections import Counter, defaultdict

import requests
import schemathesis

BASE = os.environ["SWITCHBOARD_URL"].rstrip("/")
API = f"{BASE}/api/v1"
EMULATOR = os.environ["SWITCHBOARD_EMULATOR"].rstrip("/")
TALLY = os.environ.get("SWITCHBOARD_TALLY")
# Where the hooks say what they could not prepare (Schemathesis keeps their stdout).
LOG = os.environ.get("SWITCHBOARD_HOOKS_LOG")
ADMIN, PASSWORD = "admin", "demo"
PAGE_ID = "1001"  # the demo's Facebook page (host/src/demo/mod.rs)
WORKGROUP = "Social"  # the workgroup the demo's channels route to
# Share of cases pointed at a prepared resource; the rest keep their generated values.
PROP_SHARE = 0.5

_rng = random.Random(int(os.environ.get("SWITCHBOARD_SEED", "1")))
_serial = itertools.count(1)
_lock = threading.RLock()


def note(line):
    if LOG:
        with _lock, open(LOG, "a") as f:
            f.write(line + "\n")


def _fresh(prefix):
    """A name no other prepared resource has."""
    return f"{prefix}-{next(_serial)}"


def sign_in():
    res = requests.post(f"{API}/login", json={"username": ADMIN, "password": PASSWORD}, timeout=30)
    res.raise_for_status()
    return res.json()["token"]


# Two sessions, one for the cases and one for the stage hand, signed in before any case runs:
# once the fuzzed sign-ins have failed often enough from this address, the throttle makes
# every sign-in from it wait, right or wrong.
_first_token, _stage_token = sign_in(), sign_in()


@schemathesis.auth(retry_on=[401])
class AdminToken:
    """The administrator's bearer token; signed in again when the host refuses it (401)."""

    fetched = False

    def get(self, case, context):
        if not AdminToken.fetched:
            AdminToken.fetched = True
            return _first_token
        return sign_in()

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


# ---- the stage hand: its own session, to prepare resources ---------------------------------


class Stage:
    """Prepares resources through the API with a session of its own."""

    def __init__(self):
        self.http = requests.Session()
        self.token = _stage_token
        self.admin_id = None
        self.ready = False

    def call(self, method, path, body=None, ok=True):
        for _ in range(2):
            if self.token is None:
                self.token = sign_in()
            res = self.http.request(
                method,
                f"{API}{path}",
                json=body,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=30,
            )
            if res.status_code != 401:
                break
            self.token = None
        if ok and not res.ok:
            raise RuntimeError(f"{method} {path}: {res.status_code} {res.text[:300]}")
        json_answer = res.headers.get("content-type", "").startswith("application/json")
        return res.json() if res.content and json_answer else None

    def setup(self):
        """Once: who the administrator is."""
        if self.ready:
            return
        users = self.call("GET", "/users")
        self.admin_id = next(u["id"] for u in users if u["username"] == ADMIN)
        self.ready = True

    def fit_admin(self):
        """The administrator may hold many conversations at once and has the skills the
        demo's sample processes ask for (English, French, Spanish comments). Utilization
        and skills only: a change of its password, rights or name would end its sessions.
        Set again each time, since fuzzed cases may change them."""
        many = {"percent": 0, "max": 25}
        self.call(
            "PUT",
            f"/users/{self.admin_id}",
            {
                "utilization": {"social_conversation": many, "social_direct_message": many},
                "skills": {"english": 5, "french": 5, "spanish": 5},
            },
        )

    def workgroup(self):
        return next(g for g in self.call("GET", "/workgroups") if g["name"] == WORKGROUP)

    def reset_routing(self):
        """Undoes what fuzzed cases may have done to the administrator's routing."""
        self.setup()
        self.fit_admin()
        group = self.workgroup()
        members = sorted(set(group["members"]) | {ADMIN})
        self.call(
            "PUT",
            f"/workgroups/{group['id']}",
            {"members": members, "alert_timeout_ms": 60000, "wrapup_required": False},
        )
        self.call("PUT", "/me/status", {"status": "available"})
        live = [i for i in self.call("GET", "/me/interactions") if i["state"] in ("connected", "held")]
        # Keep room for new offers: end the oldest of the conversations held.
        for ix in sorted(live, key=lambda i: i["id"])[:-5]:
            self.call("POST", f"/interactions/{ix['id']}/disconnect", ok=False)

    def offered(self):
        """A conversation offered to the administrator (alerting)."""
        self.reset_routing()
        for ix in self.call("GET", "/me/interactions"):
            if ix["state"] == "alerting":
                return ix["id"]
        n = next(_serial)
        res = requests.post(
            f"{EMULATOR}/_emulator/facebook/comments",
            json={"page_id": PAGE_ID, "author_name": f"Casey {n}", "text": f"Where is order {n}?"},
            timeout=30,
        )
        res.raise_for_status()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            for ix in self.call("GET", "/me/interactions"):
                if ix["state"] == "alerting":
                    return ix["id"]
            time.sleep(0.1)
        raise RuntimeError("no conversation was offered to the administrator")

    def any_interaction(self):
        found = self.call("GET", "/interactions?limit=50")["items"]
        return _rng.choice(found)["id"] if found else self.offered()

    def connected(self):
        ix = self.offered()
        self.call("POST", f"/interactions/{ix}/pickup")
        return ix

    def held(self):
        ix = self.connected()
        self.call("POST", f"/interactions/{ix}/hold")
        return ix

    def disconnected(self):
        ix = self.connected()
        self.call("POST", f"/interactions/{ix}/disconnect")
        return ix

    def customer_comment(self, ix):
        """A customer's comment under the conversation's post (a post itself cannot be
        hidden), once the host has it."""
        detail = self.call("GET", f"/interactions/{ix}")
        post = detail["thread_id"]
        # From the customer the conversation is with: the demo's Facebook process holds
        # another customer's comment back while an agent has the post.
        customer = next(m for m in detail["messages"] if m["direction"] == "inbound")
        res = requests.post(
            f"{EMULATOR}/_emulator/facebook/comments",
            json={
                "page_id": PAGE_ID,
                "post_id": post,
                "author_name": customer["author"],
                "author_id": customer["author_id"],
                "text": "One more thing.",
            },
            timeout=30,
        )
        res.raise_for_status()
        comment = res.json()["comment_id"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            messages = self.call("GET", f"/interactions/{ix}")["messages"]
            if any(m["platform_message_id"] == comment for m in messages):
                return comment
            time.sleep(0.1)
        raise RuntimeError(f"the comment {comment} did not reach conversation {ix}")

    def stored_attachment(self):
        """A customer's photo on Messenger, once the host has downloaded it (once per run:
        the file is the same each time)."""
        if getattr(self, "_attachment", None):
            return self._attachment
        marker = _fresh("st-photo")
        res = requests.post(
            f"{EMULATOR}/_emulator/messenger/messages",
            json={"page_id": PAGE_ID, "name": "Photo Sender", "text": marker,
                  "attachments": [{"type": "image"}]},
            timeout=30,
        )
        res.raise_for_status()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = self.call("GET", f"/interactions?text={marker}&limit=5")["items"]
            for item in found:
                detail = self.call("GET", f"/interactions/{item['id']}")
                for m in detail["messages"]:
                    for a in m["attachments"]:
                        if a.get("state") == "stored":
                            self._attachment = a["id"]
                            return a["id"]
            time.sleep(0.2)
        raise RuntimeError(f"the photo of {marker} was not stored")

    def fresh_contact(self):
        """The id of a new customer's contact (their comment waits in the queue)."""
        name = f"Dana {next(_serial)} {_fresh('st')}"
        requests.post(
            f"{EMULATOR}/_emulator/facebook/comments",
            json={"page_id": PAGE_ID, "author_name": name, "text": "Hello there."},
            timeout=30,
        ).raise_for_status()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            found = self.call("GET", f"/contacts?q={requests.utils.quote(name)}")
            if found:
                return found[0]["id"]
            time.sleep(0.1)
        raise RuntimeError(f"no contact was made for {name}")

    def finished_contact(self):
        """The contact of a conversation that has ended (one that may be erased)."""
        ix = self.disconnected()
        return self.call("GET", f"/interactions/{ix}")["contact"]["id"]

    def linked_contact(self):
        """A contact with two identities, and the second identity's id."""
        a, b = self.fresh_contact(), self.fresh_contact()
        linked = self.call("POST", f"/contacts/{a}/link", {"contact_id": b})
        return a, linked["identities"][-1]["id"]

    def failed_reply(self):
        """A conversation with a reply the platform refused for good (state `failed`)."""
        ix = self.connected()
        requests.post(
            f"{EMULATOR}/_emulator/facebook/failures",
            json={"status": 400, "code": 100, "message": "Invalid parameter", "count": 1},
            timeout=30,
        ).raise_for_status()
        out = self.call("POST", f"/interactions/{ix}/reply", {"text": "Refused on purpose."})
        return ix, out["id"]

    def new(self, family, body):
        return self.call("POST", f"/{family}", body)

    def named(self, family, prefix):
        """The id of a new workgroup or station."""
        return self.new(family, {"name": _fresh(prefix)})["id"]

    def user(self):
        return self.new("users", {"username": _fresh("st-user"), "password": "st-secret"})["id"]

    def response(self):
        """The id of a new standard response."""
        return self.new("responses", {"title": _fresh("st-response"), "text": "Hello {customer_name}."})["id"]

    def other_user(self):
        return _rng.choice([u["id"] for u in self.call("GET", "/users") if u["id"] != self.admin_id])

    def channel_body(self, name):
        """A working Facebook channel on the demo's page, through the emulator."""
        return {
            "name": name,
            "plugin": "facebook",
            "workgroup": WORKGROUP,
            "ingest": "webhook",
            "allowed_hosts": [EMULATOR],
            "settings": {"page_id": PAGE_ID, "graph_base_url": f"{EMULATOR}/v19.0"},
            "secrets": {
                "app_secret": "st-secret",
                "verify_token": "st-verify",
                "access_token": "demo-page-token",  # the emulator's page token
            },
        }

    def channel(self):
        name = _fresh("st-channel")
        self.new("channels", self.channel_body(name))
        return name

    def paused_channel(self):
        """A fresh channel of the stage's own, paused (never the demo's: its traffic must
        keep being routed for the other cases)."""
        name = self.channel()
        self.call("POST", f"/channels/{name}/pause")
        return name


STAGE = Stage()


def _wrapup_code():
    codes = STAGE.workgroup()["wrapup_codes"]
    return _rng.choice(codes) if codes else "Resolved"


# Operation -> what to prepare: returns (path parameters, body or None to keep the generated one).
def _props():
    s = STAGE
    same = lambda ix: ({"id": ix}, None)  # noqa: E731
    return {
        "GET /api/v1/interactions/{id}": lambda: same(s.any_interaction()),
        "GET /api/v1/interactions/{id}/templates": lambda: same(s.any_interaction()),
        "GET /api/v1/attachments/{id}": lambda: same(s.stored_attachment()),
        "POST /api/v1/interactions/{id}/pickup": lambda: same(s.offered()),
        "POST /api/v1/interactions/{id}/decline": lambda: same(s.offered()),
        "POST /api/v1/interactions/{id}/hold": lambda: same(s.connected()),
        "POST /api/v1/interactions/{id}/disconnect": lambda: same(s.connected()),
        "POST /api/v1/interactions/{id}/resume": lambda: same(s.held()),
        "POST /api/v1/interactions/{id}/reply": lambda: (
            {"id": s.connected()},
            _maybe({"text": "Thanks for writing, we are on it."}),
        ),
        "POST /api/v1/interactions/{id}/transfer": lambda: (
            {"id": s.connected()},
            _maybe({"to_workgroup": WORKGROUP, "note": "Over to the team."}),
        ),
        "POST /api/v1/interactions/{id}/wrapup": lambda: (
            {"id": s.disconnected()},
            _maybe({"code": _wrapup_code()}),
        ),
        "POST /api/v1/interactions/{id}/messages/{message}/delete": lambda: _commented(s.connected()),
        "POST /api/v1/interactions/{id}/messages/{message}/hide": lambda: _commented(s.connected()),
        "POST /api/v1/interactions/{id}/outbound/{outbound_id}/resend": lambda: (
            dict(zip(("id", "outbound_id"), s.failed_reply())),
            None,
        ),
        "GET /api/v1/users/{id}": lambda: ({"id": s.other_user()}, None),
        "PUT /api/v1/users/{id}": lambda: ({"id": s.user()}, None),
        "DELETE /api/v1/users/{id}": lambda: ({"id": s.user()}, None),
        "GET /api/v1/workgroups/{id}": lambda: ({"id": s.workgroup()["id"]}, None),
        "PUT /api/v1/workgroups/{id}": lambda: same(s.named("workgroups", "st-group")),
        "DELETE /api/v1/workgroups/{id}": lambda: same(s.named("workgroups", "st-group")),
        "GET /api/v1/stations/{id}": lambda: same(s.named("stations", "st-desk")),
        "PUT /api/v1/stations/{id}": lambda: same(s.named("stations", "st-desk")),
        "DELETE /api/v1/stations/{id}": lambda: same(s.named("stations", "st-desk")),
        "POST /api/v1/channels": lambda: ({}, _maybe(s.channel_body(_fresh("st-channel")))),
        "GET /api/v1/channels/{name}": lambda: ({"name": "facebook"}, None),
        "GET /api/v1/channels/{name}/suspensions": lambda: ({"name": "facebook"}, None),
        "PUT /api/v1/channels/{name}": lambda: _channel_replaced(s.channel()),
        "DELETE /api/v1/channels/{name}": lambda: ({"name": s.channel()}, None),
        "POST /api/v1/channels/{name}/pause": lambda: ({"name": s.channel()}, None),
        "POST /api/v1/channels/{name}/resume": lambda: ({"name": s.paused_channel()}, None),
        # A draft of a channel checked against the emulated platform (the Test button).
        "POST /api/v1/channels/{name}/check": lambda: (
            {"name": "st-check"},
            s.channel_body("st-check"),
        ),
        "POST /api/v1/users": lambda: ({}, _maybe({"username": _fresh("st-user"), "password": "st-secret"})),
        "POST /api/v1/workgroups": lambda: ({}, _maybe({"name": _fresh("st-group")})),
        "POST /api/v1/me/station": lambda: ({}, _maybe({"station": _rng.choice(["desk-1", "desk-2", None])})),
        "POST /api/v1/responses": lambda: (
            {},
            _maybe({"title": _fresh("st-response"), "text": "Thanks, {customer_name}."}),
        ),
        "PUT /api/v1/responses/{id}": lambda: same(s.response()),
        "DELETE /api/v1/responses/{id}": lambda: same(s.response()),
        "POST /api/v1/supervisor/interactions/{id}/close": lambda: (
            {"id": s.connected()},
            _maybe({"reason": "Stuck: the customer wrote again elsewhere."}),
        ),
        "GET /api/v1/contacts": lambda: ({}, None, {"q": "Dana"}),
        "GET /api/v1/contacts/{id}": lambda: same(s.fresh_contact()),
        "PUT /api/v1/contacts/{id}": lambda: ({"id": s.fresh_contact()}, _maybe({"notes": "Prefers mornings."})),
        "GET /api/v1/contacts/{id}/export": lambda: same(s.fresh_contact()),
        "POST /api/v1/contacts/{id}/erase": lambda: same(s.finished_contact()),
        "POST /api/v1/contacts/{id}/link": lambda: (
            {"id": s.fresh_contact()},
            _maybe({"contact_id": s.fresh_contact()}),
        ),
        "POST /api/v1/contacts/{id}/unlink": lambda: (
            lambda pair: ({"id": pair[0]}, _maybe({"identity_id": pair[1]}))
        )(s.linked_contact()),
        "GET /api/v1/me/history": lambda: ({}, None, {}),
        "POST /api/v1/supervisor/interactions/{id}/reassign": lambda: (
            {"id": s.connected()},
            _maybe({"to_workgroup": WORKGROUP, "reason": "Stuck: moved by a supervisor."}),
        ),
        "GET /api/v1/workflows/versions/{version}/scripts/{name}": lambda: (
            lambda v: ({"version": v["version"], "name": v["scripts"][0]}, None)
        )(s.call("GET", "/workflows/versions")[0]),
        # A third item replaces the query: the generated dates are rarely dates.
        "GET /api/v1/reports/{dimension}": lambda: (
            {"dimension": _rng.choice(["workgroups", "agents", "channels", "platforms", "media-types"])},
            None,
            {"interval": _rng.choice(["hour", "day", "week"]), "format": _rng.choice(["json", "csv"])},
        ),
        "GET /api/v1/reports/{dimension}/interactions": lambda: (
            {"dimension": "workgroups"},
            None,
            {"key": WORKGROUP, "figure": _rng.choice(["arrivals", "answered", "abandoned"])},
        ),
    }


def _maybe(body):
    """A valid body for half the prepared cases; the generated one for the others."""
    return body if _rng.random() < 0.5 else None


def _commented(ix):
    return {"id": ix, "message": STAGE.customer_comment(ix)}, None


def _channel_replaced(name):
    body = STAGE.channel_body(name)
    body["poll_interval_ms"] = 5000
    return {"name": name}, _maybe(body)


PROPS = _props()
_login_calls = itertools.count()


@schemathesis.hook
def before_call(context, case, kwargs):
    label = case.operation.label
    if label == "POST /api/v1/login":
        # The first tries sign in for real: once the fuzzed failures from this address pass
        # the throttle's free allowance, every try waits (429), right or wrong.
        well_formed = case.method.upper() == "POST" and isinstance(case.body, dict)
        if well_formed and (case.media_type or "").endswith("json") and next(_login_calls) < 2:
            case.body = {"username": ADMIN, "password": PASSWORD}
        return
    with _lock:
        STAGE.setup()
        prop = PROPS.get(label)
        if prop is not None and _rng.random() < PROP_SHARE:
            try:
                params, body, *query = prop()
            except Exception as e:  # the case goes out as generated; the tally tells
                note(f"could not prepare {label}: {e}")
            else:
                case.path_parameters = {**(case.path_parameters or {}), **params}
                if body is not None:
                    case.body = body
                if query:
                    case.query = query[0]
        # Never the administrator itself (see the module's doc).
        if label in ("PUT /api/v1/users/{id}", "DELETE /api/v1/users/{id}"):
            if str((case.path_parameters or {}).get("id")) == str(STAGE.admin_id):
                case.path_parameters["id"] = STAGE.other_user()


# ---- the tally -----------------------------------------------------------------------------

_tally = defaultdict(Counter)


@schemathesis.hook
def after_call(context, case, response):
    with _lock:
        _tally[case.operation.label][str(response.status_code)] += 1


def _write_tally():
    if TALLY:
        with open(TALLY, "w") as f:
            json.dump({label: dict(c) for label, c in sorted(_tally.items())}, f, indent=1)


atexit.register(_write_tally)
