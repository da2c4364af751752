#!/usr/bin/env python3
"""One timed load + render of a chart by real Helm v4 (helm-python-sdk), as a bench row:
prints "chart-render.peer SECONDS 0" (the interpreter's start-up and the import are not counted)."""
import sys
import time

from helm_python import chart

start = time.monotonic()
with chart.Chart.load(sys.argv[1]) as loaded:
    loaded.render(name="release", namespace="default")
print("chart-render.peer %.4f 0" % (time.monotonic() - start))
