"""``python -m ckpt.hub serve ...``: the server without going through the ``ckpt`` CLI."""

import sys

from ckpt.hub.cli import main

sys.exit(main())
