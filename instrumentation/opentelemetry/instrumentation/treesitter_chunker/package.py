"""The library versions this instrumentation is written against (checked by ``instrument()``)."""

_instruments = ("treesitter-chunker >= 6.0, < 7",)
