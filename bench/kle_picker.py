"""How fast the KLE picker answers a caseworker's search (number, keyword and meaning).

Prints JSON: seconds to load the suggestion engine once, and milliseconds per search (median
and worst over the queries, after the load). Target: a search well under 300 ms, so the picker
feels immediate.
"""

from __future__ import annotations

import json
import statistics
import time

from casework.inbox import kle

QUERIES = ["carport", "parkering", "hund", "byggetilladelse", "støj fra nabo", "skur i haven",
           "02.34", "qwxzv", "ejendomsskat", "handicapbil"]


def main() -> None:
    started = time.perf_counter()
    kle.suggester()
    load = time.perf_counter() - started
    times = []
    for _ in range(3):
        for query in QUERIES:
            t = time.perf_counter()
            kle.search(query)
            times.append((time.perf_counter() - t) * 1000)
    print(json.dumps({"bench": "kle_picker", "load_seconds": round(load, 2),
                      "search_ms_median": round(statistics.median(times), 1),
                      "search_ms_max": round(max(times), 1), "searches": len(times)}))


if __name__ == "__main__":
    main()
