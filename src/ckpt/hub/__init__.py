"""A loopback-only stand-in for the Hugging Face Hub, for tests and the demo.

It speaks the subset of the Hub's HTTP protocol that the real, unmodified ``huggingface_hub``
client uses (see ``/work/shared/HUB_PROTOCOL.md`` and ``docs/HUB.md``), stores repositories on
disk, enforces the Hub's limits and can inject faults. Start it with ``ckpt hub serve`` or
``python -m ckpt.hub serve``. It imports nothing beyond the standard library.
"""
