"""aiohttp, CONC concurrent PUTs on one session: what a user might write
instead of update_many.  The answer is decoded (resp.json()).
usage: aio.py URL BODY_FILE HEADER_FILE COUNT MAX_SECS CONC
BENCH_CA (environment), when set, is the CA file for an https:// URL."""
import asyncio
import os
import resource
import ssl
import sys
import time

import aiohttp


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_maxrss


async def main(url, body, headers, count, max_secs, conc):
    ca = os.environ.get("BENCH_CA")
    tls = ssl.create_default_context(cafile=ca) if ca else None
    conn = aiohttp.TCPConnector(limit=conc, ssl=tls)
    async with aiohttp.ClientSession(connector=conn) as session:
        state = {"left": 0, "deadline": 0.0, "done": 0, "bad": 0}

        async def worker():
            while state["left"] > 0 and time.monotonic() < state["deadline"]:
                state["left"] -= 1
                async with session.put(url, data=body, headers=headers) as r:
                    user = await r.json()
                    if r.status != 200 or "UserId" not in user:
                        state["bad"] += 1
                state["done"] += 1

        async def phase(n, secs):
            state["left"], state["done"] = n, 0
            state["deadline"] = time.monotonic() + secs
            await asyncio.gather(*(worker() for _ in range(conc)))
            return state["done"]

        await phase(4 * conc, 30)                  # warm-up: connections
        c0, _ = cpu()
        t0 = time.monotonic()
        n = await phase(count, max_secs)
        secs = time.monotonic() - t0
        c1, rss = cpu()
        print(f"n={n} secs={secs:.6f} cpu={c1 - c0:.6f} rss_kb={rss} bad={state['bad']}")


def read_headers(path):
    h = {}
    with open(path) as f:
        for line in f:
            if ":" in line:
                k, v = line.split(":", 1)
                h[k.strip()] = v.strip()
    return h


if __name__ == "__main__":
    url, body_file, header_file = sys.argv[1:4]
    count, max_secs, conc = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    with open(body_file, "rb") as f:
        body = f.read()
    asyncio.run(main(url, body, read_headers(header_file), count, max_secs, conc))
