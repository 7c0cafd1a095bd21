"""``python -m annrl``: the same command line as ``annrl``."""

import sys

from annrl.cli import main

sys.exit(main())
