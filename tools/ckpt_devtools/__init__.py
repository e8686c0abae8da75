"""Development tools for chemeleon2-ckpt that stay out of its wheel.

``python -m ckpt_devtools.demo`` runs the README's main job on a local Hub (``make demo``);
``ckpt_devtools.standins`` writes the reproducible stand-in checkpoints that the demo, the tests
and ``scripts/make_checkpoints.py`` use.
"""
