"""requests, sequential PUTs on one Session: the other thing a user might
write.  The answer is decoded (r.json()).
usage: seq.py URL BODY_FILE HEADER_FILE COUNT MAX_SECS"""
import resource
import sys
import time

import requests


def read_headers(path):
    h = {}
    with open(path) as f:
        for line in f:
            if ":" in line:
                k, v = line.split(":", 1)
                h[k.strip()] = v.strip()
    return h


def main():
    url, body_file, header_file = sys.argv[1:4]
    count, max_secs = int(sys.argv[4]), float(sys.argv[5])
    with open(body_file, "rb") as f:
        body = f.read()
    headers = read_headers(header_file)
    bad = 0
    with requests.Session() as s:
        for _ in range(50):                        # warm-up
            s.put(url, data=body, headers=headers).json()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.monotonic()
        deadline = t0 + max_secs
        n = 0
        while n < count and time.monotonic() < deadline:
            r = s.put(url, data=body, headers=headers)
            if r.status_code != 200 or "UserId" not in r.json():
                bad += 1
            n += 1
        secs = time.monotonic() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(f"n={n} secs={secs:.6f} cpu={cpu:.6f} rss_kb={r1.ru_maxrss} bad={bad}")


if __name__ == "__main__":
    main()
