"""Side-by-side benchmarks of the everyday checkpoint paths against what a user would use instead.

Run ``python -m benchmarks.run`` (``--quick`` for small sizes, ``--only 1,3``); see BENCHMARKS.md.
Every comparison runs in the same process run, on the same bytes, against the same local Hub, and
each target is printed as PASS or FAIL from the measured numbers.
"""
