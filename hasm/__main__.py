"""`python -m hasm` runs the command line."""

import sys

from hasm.cli import main

sys.exit(main())
