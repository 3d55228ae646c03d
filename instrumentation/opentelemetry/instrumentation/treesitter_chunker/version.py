"""Version of the treesitter-chunker instrumentation: chunkscope's own, since it ships inside it.

Read from the installed distribution, like the chunkscope instrumentation's, so the one
version source (``chunkscope.__version__``) names every instrumentation scope.
"""

from importlib.metadata import version

__version__ = version("chunkscope")
