"""A loopback-only stand-in for the Hugging Face Hub, for tests, benchmarks and the demo.

It speaks the subset of the Hub's HTTP protocol that the real, unmodified ``huggingface_hub``
client uses (``docs/HUB.md`` lists the routes and what each one checks), stores repositories on
disk, enforces the Hub's limits and can inject faults. Start it with ``hubsim serve`` or
``python -m hubsim serve``, or from Python with ``hubsim.process.LocalHub``. It imports nothing
beyond the standard library, and it is a development tool: the ``chemeleon2-ckpt`` wheel does not
contain it (see ``tools/pyproject.toml``).
"""
