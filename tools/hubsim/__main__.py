"""``python -m hubsim serve ...``: the ``hubsim`` command, for a Python without its script."""

import sys

from hubsim.cli import main

sys.exit(main())
