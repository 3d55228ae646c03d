"""Version of the treesitter-chunker instrumentation; it ships with chunkscope."""

__version__ = "0.1.0"
