"""Checks that a Schemathesis run proved something: every operation of the OpenAPI document
got at least one 2xx answer, except those listed in EXCLUDED with the reason.

A run whose cases all came back 401 (or 404 for ids that name nothing) passes
Schemathesis' checks while testing nothing but the refusals. Usage:

    python coverage.py TALLY_JSON OPENAPI_JSON

TALLY_JSON is what hooks.py writes: {"METHOD /path": {"status": count}}.
"""

import json
import sys

# Operations the run leaves out, or that cannot answer 2xx in it; each with why.
EXCLUDED = {
    "POST /api/v1/logout": "not run: it ends the run's own session",
    "GET /api/v1/events": "not run: an event stream never ends, so a case would only time out "
    "(tests/e2e and the browser tests cover it)",
    "DELETE /api/v1/channels/{name}/suspensions/{keyword}": "no 2xx expected: a keyword is suspended "
    "only when an X search brings too many posts (tests/e2e/x.rs lifts one)",
}
METHODS = ("get", "put", "post", "delete", "patch")


def main(tally_path, document_path):
    with open(document_path) as f:
        document = json.load(f)
    with open(tally_path) as f:
        tally = json.load(f)
    operations = [
        f"{method.upper()} {path}"
        for path, item in sorted(document["paths"].items())
        for method in METHODS
        if method in item
    ]
    missing, cases = [], 0
    width = max(map(len, operations))
    for label in operations:
        statuses = tally.get(label, {})
        total = sum(statuses.values())
        cases += total
        good = sum(n for s, n in statuses.items() if s.startswith("2"))
        spread = " ".join(f"{s}:{n}" for s, n in sorted(statuses.items()))
        note = ""
        if label in EXCLUDED:
            note = f"  (excluded: {EXCLUDED[label]})"
        elif good == 0:
            missing.append(label)
            note = "  <- no 2xx"
        print(f"  {label:<{width}}  {spread or '-'}{note}")
    print(f"{len(operations)} operations, {cases} responses, {len(EXCLUDED)} excluded")
    if missing:
        print("these operations never answered 2xx, so the run proved little about them:")
        for label in missing:
            print(f"  {label}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
