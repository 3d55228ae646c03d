"""Per-file measurements of treesitter-chunker, taken with cheap clocks and no OpenTelemetry.

These wrappers run wherever treesitter-chunker chunks: in the process that owns the
providers and, through ``_pool``, in the children of ``chunk_directory``'s process pool,
where nothing of OpenTelemetry is needed. Each file becomes one ``Measure``. Where it goes
is decided when it is finished: into the list a pool task collects (``collecting``), or to
``Hooks.done`` in the owning process, which turns it into spans and metric points.

What is timed, with no per-node cost (wrapping ``core._walk`` would cost about 30 %):

* parse: from ``get_parser`` (the name ``chunker.core`` and ``chunker.streaming`` imported)
  to the return of the parser's ``parse``. While a file is being measured, ``get_parser``
  hands out the parser behind a thin proxy whose ``parse`` notes the time, the source size
  and the tree's node count and error flag;
* extract: from the end of the parse to the return of ``chunk_text``, or for
  ``chunk_file_streaming`` the time spent inside the generator after the parse (the
  consumer's time between chunks is not the chunker's);
* file: from the entry (``chunk_file``, ``chunk_text`` called on its own, or the first
  ``next()`` of a stream) to its return.

Every wrapper calls the wrapped function outside any ``try`` of its own that could change
what the caller sees: return values and exceptions pass through untouched. Measurement
code is guarded; a failure in it is reported once (``_safety.report``) and swallowed.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import wrapt
from opentelemetry.instrumentation.chunkscope._safety import report

_ANCHOR_NS = time.time_ns() - time.perf_counter_ns()
_perf_ns = time.perf_counter_ns


def now_ns() -> int:
    """Epoch nanoseconds from the monotonic clock: cheap, and comparable across the pool."""
    return _ANCHOR_NS + _perf_ns()


@dataclass(slots=True)
class Measure:
    """What one file cost, in epoch ns (0: the stage did not run). Picklable for the pool."""

    path: str
    language: str | None
    start_ns: int = 0
    end_ns: int = 0
    parse_start_ns: int = 0
    parse_end_ns: int = 0
    extract_start_ns: int = 0
    extract_end_ns: int = 0
    size: int = 0
    node_count: int = 0
    has_error: bool = False
    error: str | None = None
    cache: str | None = None
    """``hit``/``miss`` when treesitter-chunker's SQLite cache was consulted, else None."""
    chunks: Any = None
    """The chunks returned (a list of ``CodeChunk``), read by the recorder; never pickled."""
    kinds: dict[str, int] = field(default_factory=dict)
    """Chunk counts by node type, filled for streams (which keep no list)."""
    chunk_bytes: int = 0
    chunk_count: int = 0
    context: Any = None
    """The OpenTelemetry context at the entry (owning process only)."""

    def __getstate__(self) -> dict[str, Any]:
        state = {name: getattr(self, name) for name in self.__slots__}
        state["chunks"] = state["context"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)


@dataclass(frozen=True, slots=True)
class Hooks:
    """The owning process's side: whether to measure now, its context, and the recorder;
    ``forked`` runs once in a pool child that inherited all this through ``fork``."""

    enabled: Callable[[], bool]
    context: Callable[[], Any]
    done: Callable[[Measure], None]
    forked: Callable[[], None] = lambda: None


class _State(threading.local):
    file: Measure | None = None
    collect: list[Measure] | None = None


_local = _State()
_hooks: Hooks | None = None
_wrapped: list[tuple[Any, str]] = []
_Proxy = getattr(wrapt, "BaseObjectProxy", wrapt.ObjectProxy)


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def _open(path: Any, language: Any) -> Measure | None:
    """A new measure, or None when nobody wants one (uninstrumented, suppressed)."""
    try:
        hooks = _hooks
        context = None
        if _local.collect is None:
            if hooks is None or not hooks.enabled():
                return None
            context = hooks.context()
        measure = Measure(
            path=str(path) if path is not None else "",
            language=language if isinstance(language, str) else None,
            start_ns=now_ns(),
        )
        measure.context = context
        return measure
    except Exception as exc:
        report(exc)
        return None


def _emit(measure: Measure) -> None:
    collect = _local.collect
    if collect is not None:
        collect.append(measure)
        return
    hooks = _hooks
    if hooks is not None:
        hooks.done(measure)


def _close(measure: Measure, chunks: Any, error: BaseException | None) -> None:
    _local.file = None
    try:
        end = measure.end_ns = now_ns()
        if error is not None:
            measure.error = type(error).__name__
            if measure.parse_start_ns and not measure.parse_end_ns:
                measure.parse_end_ns = end
            elif measure.extract_start_ns and not measure.extract_end_ns:
                measure.extract_end_ns = end
        else:
            if measure.extract_start_ns and not measure.extract_end_ns:
                measure.extract_end_ns = end
            measure.chunks = chunks
        _emit(measure)
    except Exception as exc:
        report(exc)


class _TimedParser:
    """The parser ``chunk_text`` gets while a file is measured: ``parse`` notes the time."""

    __slots__ = ("_measure", "_parser")

    def __init__(self, parser: Any, measure: Measure) -> None:
        self._parser = parser
        self._measure = measure

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        tree = self._parser.parse(*args, **kwargs)
        try:
            measure = self._measure
            measure.parse_end_ns = measure.extract_start_ns = now_ns()
            source = _arg(args, kwargs, 0, "source")
            measure.size = len(source) if hasattr(source, "__len__") else 0
            root = tree.root_node
            measure.node_count = root.descendant_count
            measure.has_error = root.has_error
        except Exception as exc:
            report(exc)
        return tree

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


# wrappers ---------------------------------------------------------------------------------


def get_parser_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """``core.get_parser`` / ``streaming.get_parser``: starts the parse of the current file."""
    measure = _local.file
    if measure is None:
        return wrapped(*args, **kwargs)
    try:
        if not measure.parse_start_ns:
            measure.parse_start_ns = now_ns()
    except Exception as exc:
        report(exc)
    parser = wrapped(*args, **kwargs)
    return _TimedParser(parser, measure)


def _entry_wrapper(path_index: int, path_name: str) -> Callable[..., Any]:
    """``chunk_text(text, language, file_path)`` and ``chunk_file(path, language)``."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        outer = _local.file
        if outer is not None:  # chunk_text inside chunk_file: the outer call owns the file
            value = wrapped(*args, **kwargs)
            try:
                if outer.extract_start_ns:
                    outer.extract_end_ns = now_ns()
            except Exception as exc:
                report(exc)
            return value
        measure = _open(
            _arg(args, kwargs, path_index, path_name), _arg(args, kwargs, 1, "language")
        )
        if measure is None:
            return wrapped(*args, **kwargs)
        _local.file = measure
        try:
            value = wrapped(*args, **kwargs)
        except BaseException as exc:
            _close(measure, None, exc)
            raise
        _close(measure, value, None)
        return value

    return wrapper


chunk_text_wrapper = _entry_wrapper(2, "file_path")
chunk_file_wrapper = _entry_wrapper(0, "path")


def stream_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """``StreamingChunker.chunk_file_streaming``: measured while the caller iterates."""
    inner = wrapped(*args, **kwargs)
    if _local.file is not None:
        return inner
    return _measured_stream(
        inner, _arg(args, kwargs, 0, "path"), getattr(instance, "language", None)
    )


def _measured_stream(inner: Iterator[Any], path: Any, language: Any) -> Iterator[Any]:
    measure = _open(path, language)
    if measure is None:
        yield from inner
        return
    busy = 0
    while True:
        _local.file = measure
        started = now_ns()
        try:
            item = next(inner)
        except StopIteration:
            _local.file = None
            _finish_stream(measure, busy, started, None)
            return
        except BaseException as exc:
            _local.file = None
            _finish_stream(measure, busy, started, exc)
            raise
        _local.file = None
        try:
            ended = now_ns()
            if measure.parse_end_ns:
                busy += ended - max(started, measure.parse_end_ns)
            measure.chunk_count += 1
            kind = item.node_type
            measure.kinds[kind] = measure.kinds.get(kind, 0) + 1
            measure.chunk_bytes += item.byte_end - item.byte_start
        except Exception as exc:
            report(exc)
        try:
            yield item
        except GeneratorExit:
            inner.close()
            _finish_stream(measure, busy, None, None)
            raise


def _finish_stream(
    measure: Measure, busy: int, started: int | None, error: BaseException | None
) -> None:
    try:
        end = now_ns()
        if started is not None and measure.parse_end_ns:
            busy += end - max(started, measure.parse_end_ns)
        if measure.parse_end_ns:
            measure.extract_end_ns = measure.parse_end_ns + busy
        _close(measure, None, error)
    except Exception as exc:
        report(exc)


# installing -------------------------------------------------------------------------------


def _chunker_modules() -> list[Any]:
    return [
        module
        for name, module in list(sys.modules.items())
        if module is not None and (name == "chunker" or name.startswith("chunker."))
    ]


def targets() -> list[tuple[Any, str, Callable[..., Any]]]:
    """Every place to wrap: ``core.chunk_text`` and ``core.chunk_file`` wherever a loaded
    ``chunker`` module imported them by name, the two ``get_parser`` names the chunkers
    call, and the streaming method every ``chunk_file_streaming`` re-export goes through."""
    from chunker import core, streaming

    chunk_text = core.chunk_text
    chunk_file = core.chunk_file
    found: list[tuple[Any, str, Callable[..., Any]]] = [
        (core, "get_parser", get_parser_wrapper),
        (streaming, "get_parser", get_parser_wrapper),
        (streaming.StreamingChunker, "chunk_file_streaming", stream_wrapper),
    ]
    for module in _chunker_modules():
        attrs = vars(module)
        if attrs.get("chunk_text") is chunk_text:
            found.append((module, "chunk_text", chunk_text_wrapper))
        if attrs.get("chunk_file") is chunk_file:
            found.append((module, "chunk_file", chunk_file_wrapper))
    return found


def install(hooks: Hooks | None) -> list[tuple[Any, str]]:
    """Wrap every target (once per process) and send finished files to ``hooks``."""
    global _hooks
    _hooks = hooks
    if not _wrapped:
        for owner, name, wrapper in targets():
            wrapt.wrap_function_wrapper(owner, name, wrapper)
            _wrapped.append((owner, name))
    return list(_wrapped)


def uninstall() -> None:
    """Put every original back; a module imported since keeps a wrapper that passes through."""
    global _hooks
    _hooks = None
    while _wrapped:
        owner, name = _wrapped.pop()
        current = getattr(owner, name, None)
        original = getattr(current, "__wrapped__", None)
        if isinstance(current, _Proxy) and original is not None:
            setattr(owner, name, original)


def installed() -> bool:
    return bool(_wrapped)


def begin_collect() -> list[Measure]:
    """In a pool task: finished files go into the returned list, not to any recorder."""
    collected: list[Measure] = []
    _local.collect = collected
    return collected


def end_collect() -> None:
    _local.collect = None
