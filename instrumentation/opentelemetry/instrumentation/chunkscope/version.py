"""Version of the chunkscope instrumentation; it ships with chunkscope itself."""

__version__ = "0.1.0"
