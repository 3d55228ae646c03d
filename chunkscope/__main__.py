"""``python -m chunkscope`` is the ``chunkscope`` command."""

from chunkscope.cli import main

raise SystemExit(main())
