"""``python -m sk_hashednets.experiments``."""

import sys

from .cli import main

sys.exit(main())
