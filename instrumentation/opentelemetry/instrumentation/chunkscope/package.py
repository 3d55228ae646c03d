"""The library versions this instrumentation is written against (checked by ``instrument()``)."""

_instruments = ("chunkscope >= 0.1",)
