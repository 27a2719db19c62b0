"""Time from `itb app` to its first page served (issue 25: within 3 s of the command).

Run from the repository root: ``.venv/bin/python benchmarks/bench_app_start.py``; starts
``itb app --no-browser --port 0`` in a fresh process 5 times on a new working folder, reads the
printed address, fetches the first page with the token (following its redirect with the cookie)
and prints the median and the slowest time from the command to the page's last byte.
"""

from __future__ import annotations

import http.cookiejar
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


def first_page_seconds() -> float:
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "analysis", "app", "--no-browser",
                                 "--port", "0", "--workdir", work], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        try:
            url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
            opener = urllib.request.build_opener(
                urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
            with opener.open(url, timeout=30) as response:
                response.read()
            return time.perf_counter() - start
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    times = [first_page_seconds() for _ in range(5)]
    print(f"itb app -> first page: median {statistics.median(times):.2f} s, "
          f"slowest {max(times):.2f} s (target: under 3 s)")
