"""Version of the chunkscope instrumentation: chunkscope's own, since it ships inside it.

Read from the installed distribution rather than ``import chunkscope``, so importing the
instrumentation (``opentelemetry-instrument`` loads it by entry point) never runs
chunkscope's import-time bootstrap first.
"""

from importlib.metadata import version

__version__ = version("chunkscope")
