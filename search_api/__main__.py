"""Entry point for `python -m search_api`."""

import sys

from search_api.cli import main

sys.exit(main())
