"""Every telemetry name chunkscope emits or reads, defined once.

Span names, metric names and units, attribute keys and values, and the ``CHUNKSCOPE_*``
environment variables are a contract: the instrumentation emits them, ``serve`` adds its own,
the dashboards and alert rules query them, and users set the variables. This module imports
nothing, so any of them (and the dashboards generator) can import it without pulling in
tree-sitter or OpenTelemetry.

Prometheus sees a metric under :func:`prometheus_name`: dots become underscores, the unit
becomes a suffix unless the name ends with it already (``s`` -> ``_seconds``, ``By`` ->
``_bytes``) and counters end in ``_total``.
"""

from __future__ import annotations

from typing import Literal

# -- environment variables -------------------------------------------------------------------
OTEL_ENV = "CHUNKSCOPE_OTEL"
"""``1``/``true``/``yes``/``on`` turns telemetry on for the CLI and for ``import chunkscope``."""
PATHS_ENV = "CHUNKSCOPE_OTEL_PATHS"
"""How file paths appear in telemetry: ``relative`` (default), ``hash`` or ``none``."""
SHUTDOWN_TIMEOUT_ENV = "CHUNKSCOPE_OTEL_SHUTDOWN_TIMEOUT"
"""Seconds the three signals get, together, to flush at exit (default: the OTLP timeout)."""
FILE_SPANS_ENV = "CHUNKSCOPE_OTEL_FILE_SPANS"
"""Which files get a span subtree: ``policy`` (default), ``all`` or ``none``."""
SLOW_FILE_MS_ENV = "CHUNKSCOPE_OTEL_SLOW_FILE_MS"
"""Under ``policy``, a file slower than this many milliseconds always keeps its spans."""
FILE_RESERVOIR_ENV = "CHUNKSCOPE_OTEL_FILE_RESERVOIR"
"""Under ``policy``, the first this-many files of every second keep their spans."""
FILE_RATIO_ENV = "CHUNKSCOPE_OTEL_FILE_RATIO"
"""Under ``policy``, the share of the remaining files that keep their spans."""
PROMETHEUS_PORT_ENV = "CHUNKSCOPE_PROMETHEUS_PORT"
"""A Prometheus scrape endpoint on this port, besides OTLP push."""
PROMETHEUS_ADDR_ENV = "CHUNKSCOPE_PROMETHEUS_ADDR"
CACHE_ENV = "CHUNKSCOPE_CACHE"
"""The chunk cache path ``chunkscope chunk`` and ``serve`` use when ``--cache`` is not given."""
"""The scrape endpoint's address (default ``127.0.0.1``)."""

OTLP_PROTOCOL_ENV = "OTEL_EXPORTER_OTLP_PROTOCOL"
SEMCONV_OPT_IN_ENV = "OTEL_SEMCONV_STABILITY_OPT_IN"
"""Defaulted to ``http``, so the HTTP instrumentations emit the stable metric names the
dashboards query (``http.server.request.duration``, seconds)."""
DEFAULT_OTLP_PROTOCOL = "http/protobuf"
"""What ``CHUNKSCOPE_OTEL=1`` exports with when no ``OTEL_EXPORTER_OTLP*_PROTOCOL`` is set:
the OTLP specification's recommended default (to ``localhost:4318``). gRPC stays one variable
away; it costs about 14 MB more per process (grpcio's native library)."""

TRUE_VALUES = frozenset({"1", "true", "yes", "on"})

FileSpanMode = Literal["policy", "all", "none"]
FILE_SPAN_MODES: tuple[FileSpanMode, ...] = ("policy", "all", "none")
DEFAULT_SLOW_FILE_MS = 100.0
DEFAULT_FILE_RESERVOIR = 10
DEFAULT_FILE_RATIO = 0.01

# -- spans -----------------------------------------------------------------------------------
SPAN_RUN = "chunkscope.run"
SPAN_FILE = "chunkscope.file"
SPAN_PARSE = "chunkscope.parse"
SPAN_EXTRACT = "chunkscope.extract"

# -- attributes ------------------------------------------------------------------------------
CODE_FILE_PATH = "code.file.path"
ERROR_TYPE = "error.type"
LANGUAGE = "chunkscope.language"
OUTCOME = "chunkscope.outcome"
SKIP_REASON = "chunkscope.skip.reason"
CHUNK_KIND = "chunkscope.chunk.kind"
FILE_SIZE = "chunkscope.file.size"
CHUNK_COUNT = "chunkscope.chunk.count"
PARSE_HAS_ERROR = "chunkscope.parse.has_error"
TREE_NODE_COUNT = "chunkscope.tree.node_count"
FILE_SPAN_REASON = "chunkscope.file.span.reason"
CACHE_HIT = "chunkscope.cache.hit"
"""On a file span, when a chunk cache was looked up: whether it held the file's chunks."""
CACHE_RESULT = "chunkscope.cache.result"
"""On ``chunkscope.cache.lookups``: ``hit``, ``miss`` or ``error`` (``FileResult.cache``)."""
"""On a kept file span: why it was kept (``error``, ``slow``, ``reservoir``, ``ratio``, ``all``)."""
CHUNKER = "chunkscope.chunker"
"""Which chunker did the work, on every metric point and on run and file spans: dashboards
filter and compare by it (Prometheus label ``chunkscope_chunker``)."""
CHUNKER_CHUNKSCOPE = "chunkscope"
CHUNKER_TREESITTER = "treesitter-chunker"
"""The ``treesitter-chunker`` distribution (``import chunker``), when its instrumentation is on."""

RUN_JOBS = "chunkscope.run.jobs"
RUN_PATHS = "chunkscope.run.paths"
RUN_FILES_CHUNKED = "chunkscope.run.files.chunked"
RUN_FILES_SKIPPED = "chunkscope.run.files.skipped"
RUN_FILES_ERRORED = "chunkscope.run.files.errored"
RUN_CHUNKS = "chunkscope.run.chunks"
RUN_BYTES = "chunkscope.run.bytes"
RUN_FILE_SPANS_KEPT = "chunkscope.run.file_spans.kept"
RUN_FILE_SPANS_DROPPED = "chunkscope.run.file_spans.dropped"

SERVER_ADDRESS = "server.address"
"""On the ``chunkscope.remote.*`` metrics: the replica (HTTP semantic conventions)."""
SERVER_PORT = "server.port"
HTTP_STATUS_CODE = "http.response.status_code"
RETRY_REASON = "chunkscope.retry.reason"
"""On ``chunkscope.remote.retries``: ``overloaded`` (429) or ``failed`` (5xx, no answer)."""
LOCAL_REASON = "chunkscope.local.reason"
"""On ``chunkscope.remote.local``: why a file was chunked in the client (``oversize``)."""

DECISION = "chunkscope.decision"
"""On ``chunkscope.file.spans``: ``kept`` or ``dropped``."""
DECISION_REASON = "chunkscope.reason"
"""On ``chunkscope.file.spans``: kept for ``error``, ``slow``, ``reservoir``, ``ratio`` or
``all``; dropped for ``ratio`` (lost the draw), ``unsampled`` (the root span was not sampled)
or ``disabled`` (``CHUNKSCOPE_OTEL_FILE_SPANS=none``)."""

# Values of OUTCOME on chunkscope.parse.duration.
PARSE_OK = "ok"
PARSE_SYNTAX_ERROR = "syntax_error"
PARSE_ERROR = "error"

# -- chunkscope doctor --probe ---------------------------------------------------------------
# The synthetic signals the probe sends. Its service is deliberately not matched by the
# dashboards' and rules' job selector (``.*chunkscope.*``), and it sets no service.namespace
# (Prometheus would make the job ``chunkscope/doctor-probe``).
PROBE_SERVICE = "doctor-probe"
PROBE_SPAN = "chunkscope.doctor.probe"
PROBE_METRIC = "chunkscope.doctor.probe"
"""A gauge (no unit, so no suffix): Prometheus sees ``chunkscope_doctor_probe``. Not in
:data:`METRICS`: no chunkscope process creates it, only the probe's OTLP request carries it."""
PROBE_ID = "chunkscope.probe.id"
"""The attribute that makes one probe's span, point and log record findable."""

# -- metrics: name -> (kind, unit, description) ---------------------------------------------
MetricKind = Literal["histogram", "counter", "updowncounter", "gauge"]

PARSE_DURATION = "chunkscope.parse.duration"
EXTRACT_DURATION = "chunkscope.extract.duration"
FILE_DURATION = "chunkscope.file.duration"
FILES = "chunkscope.files"
BYTES = "chunkscope.bytes"
CHUNKS = "chunkscope.chunks"
CHUNK_SIZE = "chunkscope.chunk.size"
FILES_ACTIVE = "chunkscope.files.active"
FILE_SPANS = "chunkscope.file.spans"
SERVE_QUEUE_DEPTH = "chunkscope.serve.queue.depth"
SERVE_SHED = "chunkscope.serve.shed"
REMOTE_REQUESTS = "chunkscope.remote.requests"
REMOTE_RETRIES = "chunkscope.remote.retries"
REMOTE_DURATION = "chunkscope.remote.request.duration"
REMOTE_LOCAL = "chunkscope.remote.local"
CACHE_LOOKUPS = "chunkscope.cache.lookups"

METRICS: dict[str, tuple[MetricKind, str, str]] = {
    PARSE_DURATION: ("histogram", "s", "Time to parse one file into a syntax tree."),
    EXTRACT_DURATION: ("histogram", "s", "Time to extract the chunks of one tree."),
    FILE_DURATION: (
        "histogram",
        "s",
        "Time for everything that happens to one file: read, parse, extract.",
    ),
    CHUNK_SIZE: (
        "histogram",
        "By",
        "Mean chunk size of each chunked file, one observation per file.",
    ),
    FILES: ("counter", "{file}", "Files seen, by outcome (chunked, skipped, error) and reason."),
    BYTES: ("counter", "By", "Bytes of source chunked."),
    CHUNKS: ("counter", "{chunk}", "Chunks produced, by chunk kind."),
    FILES_ACTIVE: ("updowncounter", "{file}", "Files being chunked in this process right now."),
    FILE_SPANS: (
        "counter",
        "{file}",
        "Files whose span subtree was kept or dropped by the file-span policy, and why.",
    ),
    SERVE_QUEUE_DEPTH: (
        "updowncounter",
        "{request}",
        "Admitted requests waiting for a free chunking worker.",
    ),
    SERVE_SHED: ("counter", "{request}", "Requests refused with 429 (over capacity)."),
    REMOTE_REQUESTS: (
        "counter",
        "{request}",
        "Requests chunk --remote sent, by replica and HTTP status (0: no answer).",
    ),
    REMOTE_RETRIES: (
        "counter",
        "{request}",
        "Requests chunk --remote sent again, by replica and reason (overloaded, failed).",
    ),
    REMOTE_DURATION: (
        "histogram",
        "s",
        "Time from sending files to a replica to its answer, by replica.",
    ),
    REMOTE_LOCAL: (
        "counter",
        "{file}",
        "Files chunk --remote chunked in the client: too large for the service.",
    ),
    CACHE_LOOKUPS: (
        "counter",
        "{lookup}",
        "Chunk cache lookups, one per file that reached parsing, by result (hit, miss, error).",
    ),
}
"""The chunkscope.* metric contract: every instrument is created from this table."""

_UNIT_SUFFIX = {"s": "_seconds", "By": "_bytes"}


def prometheus_name(name: str) -> str:
    """The name Prometheus gives ``name`` (an entry of :data:`METRICS`) after OTLP export."""
    kind, unit, _ = METRICS[name]
    base = name.replace(".", "_")
    suffix = _UNIT_SUFFIX.get(unit, "")
    if not base.endswith(suffix):
        base += suffix
    return base + "_total" if kind == "counter" else base


def prometheus_label(key: str) -> str:
    """The label Prometheus gives the attribute ``key`` (``chunkscope.language`` ->
    ``chunkscope_language``)."""
    return key.replace(".", "_")


DURATION_BUCKETS: tuple[float, ...] = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Seconds: a small file parses in ~100 µs, a generated 2 MB file takes seconds."""

SIZE_BUCKETS: tuple[float, ...] = (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536)
"""Bytes: chunks are bounded by ``--max-bytes`` (8192 by default)."""
