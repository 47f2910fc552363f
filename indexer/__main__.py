"""Entry point for `python -m indexer`."""

import sys

from indexer.cli import main

sys.exit(main())
