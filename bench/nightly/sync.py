"""bench/nightly/sync.py: the nightly sync as a user would write it by
hand, the yardstick of `make bench`'s nightly-sync table.

    sync.py EXPORT.csv BASE_URL JOURNAL.db [--prime]

Reads the export with csv.DictReader, builds each user's JSON body, and
sends it (PUT, one at a time on one requests.Session) only when its
SHA-256 differs from the one kept in SQLite for that id.  --prime only
fills the journal (what a first night leaves), sending nothing.
Credentials: USERUPD_SMARTERMEASURE_USERNAME / _PASSWORD.
Prints one line: ok=N unchanged=N failed=N."""
import csv
import hashlib
import json
import os
import sqlite3
import sys

import requests


def main():
    path, base, journal = sys.argv[1:4]
    prime = "--prime" in sys.argv[4:]
    db = sqlite3.connect(journal)
    db.execute("CREATE TABLE IF NOT EXISTS sent "
               "(id TEXT PRIMARY KEY, sha256 BLOB NOT NULL)")
    session = requests.Session()
    session.auth = (os.environ["USERUPD_SMARTERMEASURE_USERNAME"],
                    os.environ["USERUPD_SMARTERMEASURE_PASSWORD"])
    session.headers["Content-Type"] = "application/json"
    ok = unchanged = failed = 0
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            uid = row["student_id"]
            body = json.dumps({"FirstName": row["first_name"],
                               "LastName": row["last_name"],
                               "Email": row["email"],
                               "InternalID": row["external_id"]})
            digest = hashlib.sha256(body.encode()).digest()
            old = db.execute("SELECT sha256 FROM sent WHERE id = ?",
                             (uid,)).fetchone()
            if old is not None and old[0] == digest:
                unchanged += 1
                continue
            if not prime:
                r = session.put(f"{base}/v3/users/{uid}", data=body)
                if r.status_code != 200 or "UserId" not in r.json():
                    failed += 1
                    continue
            db.execute("INSERT OR REPLACE INTO sent VALUES (?, ?)",
                       (uid, digest))
            ok += 1
            if ok % 1000 == 0:
                db.commit()
    db.commit()
    db.close()
    print(f"ok={ok} unchanged={unchanged} failed={failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
