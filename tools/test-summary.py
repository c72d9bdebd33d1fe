#!/usr/bin/env python3
"""Counts test cases in meson testlog.json files and prints the closing
line "N passed, N failed".

A Criterion executable counts as its individual tests (from its
"Synthesis:" line); a shell system test counts its "PASS:"/"FAIL:" lines;
anything else counts as one test.  Usage: test-summary.py N_BUILD_FAILURES
LOG..."""
import json
import re
import sys

SYN = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| "
                 r"Failing: (\d+) \| Crashing: (\d+)")


def count(entry):
    out = "".join(entry.get(k) or "" for k in ("stdout", "stderr", "stdo", "stde"))
    ok = entry.get("result") in ("OK", "EXPECTEDFAIL")
    m = SYN.search(out)
    if m:
        tested, passing = int(m.group(1)), int(m.group(2))
        failed = tested - passing
        if not ok and failed == 0:
            failed = 1      # crashed or leaked after the synthesis
        return passing, failed
    p = len(re.findall(r"^PASS: ", out, re.M))
    f = len(re.findall(r"^FAIL: ", out, re.M))
    if p or f:
        if not ok and f == 0:
            f = 1
        return p, f
    if entry.get("result") == "SKIP":
        return 0, 0
    return (1, 0) if ok else (0, 1)


def main():
    passed, failed = 0, int(sys.argv[1])
    for path in sys.argv[2:]:
        try:
            with open(path) as f:
                for line in f:
                    p, fl = count(json.loads(line))
                    passed += p
                    failed += fl
        except OSError as e:
            print(f"test-summary: {path}: {e.strerror}")
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
