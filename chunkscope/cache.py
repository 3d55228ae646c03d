"""A content-addressed chunk cache: unchanged files are not parsed again.

A RAG index is rebuilt over trees where nearly every file is unchanged since the last
run. With a cache, each file's chunks are stored under a key made of its bytes and of
everything else that can change them: the language, the options that shape chunks
(``max_lines``, ``max_bytes``), chunkscope's version and chunking code, and the versions
of tree-sitter and of the language's grammar package. The path is not part of the key,
so a renamed or copied file is a hit; what depends on the path (``Chunk.path`` and the
chunk ids, see ``model.id_hasher``) is recomputed on every hit, as is each chunk's text,
sliced from the bytes that were hashed. Output with the cache is byte-identical to
output without it.

    >>> from chunkscope import ChunkOptions, chunk_paths
    >>> options = ChunkOptions(cache="/tmp/chunkscope.cache")
    >>> results = list(chunk_paths(["chunkscope"], options))   # cold: every file a miss
    >>> {r.cache for r in chunk_paths(["chunkscope"], options) if r.outcome == "chunked"}
    {'hit'}

Storage is one SQLite file (the standard library's ``sqlite3``) in WAL mode with a busy
timeout, so ``--jobs`` workers and ``serve`` workers read and write it at once; every
write is a transaction, so a process killed mid-write leaves the last committed state.
Each entry carries a checksum over its key and encoding, verified before use: a damaged
entry is a miss, never a wrong chunk. A file at the path that is not a chunkscope cache
is never touched; a damaged cache or one from an older schema is rebuilt; either way the
run goes on (uncached if need be) after one warning. ``max_bytes`` bounds the pages in
use; the least recently used entries are evicted past it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass, replace
from functools import cache
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson

from chunkscope.clock import now_ns
from chunkscope.logs import get_logger
from chunkscope.model import (
    DEFAULT_CACHE_MAX_BYTES,
    CacheLookup,
    Chunk,
    ChunkKind,
    ChunkOptions,
    FileResult,
    StageTimes,
    chunk_id,
    id_hasher,
)
from chunkscope.pipeline import in_worker_process
from chunkscope.walker import Entry

try:  # see model.py: hashlib would also load libcrypto
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a CPython built without _blake2
    from hashlib import blake2b

SCHEMA_VERSION = 1
APPLICATION_ID = 0x63736331
"""``PRAGMA application_id`` of a chunkscope cache ("csc1"): tells ours from any other file."""
BUSY_TIMEOUT_SECONDS = 10.0
TOUCH_BATCH = 256
"""Hits whose last-use time is written in one transaction (LRU order is best effort)."""
PAGE_CACHE_KIB = 512
"""SQLite's page cache per connection (its default is 2 MB): lookups are one rowid search
each, the OS caches the file, and the chunker's memory budget is tight."""
EVICT_CHECK_BYTES = 1 << 20
"""Written bytes between two checks of the size bound (or a sixteenth of the bound)."""
EVICT_TARGET = 0.9
"""Eviction frees down to this share of ``max_bytes``, so it does not run on every write."""

_KINDS: tuple[ChunkKind, ...] = (
    "function",
    "method",
    "class",
    "struct",
    "enum",
    "interface",
    "impl",
    "module",
    "code",
)
_KIND_SET = frozenset(_KINDS)
_stored = attrgetter(
    "kind",
    "name",
    "parent",
    "start_line",
    "end_line",
    "start_byte",
    "end_byte",
    "has_syntax_error",
    "part",
    "parts",
)
_FIELDS = 10
_CHUNKER_MODULES = ("extractor", "languages", "model", "parser", "cache")
"""Modules whose code decides chunks or their encoding: their bytes are part of every key,
so a cache never outlives a change to the chunker or to this module, version bump or not."""

ROW_OVERHEAD = 40
"""Bytes an entry costs besides its key and value: checksum, last use, rowid, record header."""
_SIZE = f"length(key) + length(value) + {ROW_OVERHEAD}"
_SCHEMA = (
    "CREATE TABLE entries (id INTEGER PRIMARY KEY, key BLOB NOT NULL, value BLOB NOT NULL,"
    " checksum BLOB NOT NULL, used INTEGER NOT NULL)",
    "CREATE INDEX entries_used ON entries (used)",
    "CREATE TABLE totals (id INTEGER PRIMARY KEY CHECK (id = 0), bytes INTEGER NOT NULL)",
    "INSERT INTO totals VALUES (0, 0)",
    "CREATE TRIGGER entries_added AFTER INSERT ON entries BEGIN UPDATE totals SET bytes = bytes"
    f" + length(NEW.key) + length(NEW.value) + {ROW_OVERHEAD} WHERE id = 0; END",
    "CREATE TRIGGER entries_removed AFTER DELETE ON entries BEGIN UPDATE totals SET bytes = bytes"
    f" - length(OLD.key) - length(OLD.value) - {ROW_OVERHEAD} WHERE id = 0; END",
)
"""``id`` is the key's first 8 bytes, so a lookup is one rowid search and the table needs no
second index on ``key``; the full key is compared on read. ``totals`` keeps the bytes of all
entries in the same transactions that change them, so checking the bound reads one row."""


class CacheUnavailable(Exception):
    """The file at the cache path cannot be used as a cache; the message says why."""


# -- keys and entries --------------------------------------------------------------------------


@cache
def _installed_version(distribution: str) -> str:
    """The installed version of ``distribution``, read from its ``.dist-info`` folder.

    This is the lookup ``importlib.metadata.version`` makes for an installed wheel, without
    importing ``importlib.metadata``, whose email, zipfile and csv modules add 3 MB to every
    process (50 modules); that module is the fallback for anything else (eggs, zips).
    """
    prefix = distribution.replace("-", "_").lower() + "-"
    for folder in sys.path:
        try:
            names = [n for n in os.listdir(folder or ".") if n.lower().startswith(prefix)]
        except OSError:
            continue
        for name in names:
            if not name.endswith(".dist-info"):
                continue
            metadata = os.path.join(folder, name, "METADATA")
            with contextlib.suppress(OSError), open(metadata, encoding="utf-8") as fh:
                for line in fh:
                    if line.startswith("Version:"):
                        return line.split(":", 1)[1].strip()
                    if not line.strip():
                        break
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not-installed"


@cache
def _code_fingerprint() -> str:
    import importlib

    digest = blake2b(digest_size=16)
    for name in _CHUNKER_MODULES:
        module = importlib.import_module(f"chunkscope.{name}")
        with contextlib.suppress(OSError, TypeError):
            digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


@cache
def _salt(language: str, max_lines: int, max_bytes: int) -> bytes:
    """Everything but the bytes that goes into a key; computed once per process and language."""
    from chunkscope.languages import LANGUAGES

    grammar = LANGUAGES[language].module.replace("_", "-")
    parts = (
        f"schema={SCHEMA_VERSION}",
        f"chunkscope={_installed_version('chunkscope')}",
        f"code={_code_fingerprint()}",
        f"tree-sitter={_installed_version('tree-sitter')}",
        f"{grammar}={_installed_version(grammar)}",
        f"language={language}",
        f"max_lines={max_lines}",
        f"max_bytes={max_bytes}",
    )
    return blake2b("\n".join(parts).encode(), digest_size=16).digest()


def cache_key(source: bytes, language: str, options: ChunkOptions) -> bytes:
    """The 16-byte key of ``source`` chunked as ``language`` with ``options``."""
    digest = blake2b(_salt(language, options.max_lines, options.max_bytes), digest_size=16)
    digest.update(source)
    return digest.digest()


def _checksum(key: bytes, value: bytes) -> bytes:
    digest = blake2b(key, digest_size=8)
    digest.update(value)
    return digest.digest()


def encode(result: FileResult, node_count: int = 0) -> bytes:
    """A chunked file's chunks without anything that depends on its path or its text: one
    flat JSON array, ``_FIELDS`` values per chunk after the file's own two."""
    head = (result.has_syntax_error, node_count)
    return orjson.dumps([*head, *chain.from_iterable(map(_stored, result.chunks))])


@dataclass(frozen=True, slots=True)
class Decoded:
    """An entry turned back into the file's chunks for one path."""

    chunks: tuple[Chunk, ...]
    has_syntax_error: bool
    node_count: int


def decode(value: bytes, source: bytes, path: str, language: str) -> Decoded:
    """Rebuild the chunks of ``source`` at ``path``; raises ``ValueError`` on a bad entry."""
    flat = orjson.loads(value)
    if not isinstance(flat, list) or len(flat) < 2 or (len(flat) - 2) % _FIELDS:
        raise ValueError("malformed cache entry")
    prefix = id_hasher(path)
    size = len(source)
    chunks: list[Chunk] = []
    for i in range(2, len(flat), _FIELDS):
        kind, name, parent, first, last, start, end, error, part, parts = flat[i : i + _FIELDS]
        if not 0 <= start < end <= size or kind not in _KIND_SET:
            raise ValueError("cache entry does not fit the file")
        content = source[start:end]
        chunks.append(
            Chunk(
                chunk_id(prefix, start, end, content),
                path,
                language,
                kind,
                name,
                parent,
                first,
                last,
                start,
                end,
                content.decode("utf-8", "replace"),
                error is True,
                part,
                parts,
            )
        )
    return Decoded(tuple(chunks), flat[0] is True, flat[1])


# -- the SQLite file -----------------------------------------------------------------------------


def _sidecars(path: str) -> tuple[str, ...]:
    return (path, path + "-wal", path + "-shm", path + "-journal")


def _connect(path: str) -> sqlite3.Connection:
    """One connection with the cache's settings; tests wrap this to simulate a full disk."""
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
    )
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
    conn.execute("PRAGMA recursive_triggers=ON")  # REPLACE fires the delete trigger too
    return conn


def _identity(conn: sqlite3.Connection) -> tuple[int, int]:
    """The file's application id and its number of schema objects, read in one snapshot.

    Why one: another process may be creating the cache at this moment, and its schema and
    application id arrive in one transaction. Read apart, the id could come from before it
    and the schema from after, and a new cache would look like someone else's file.
    """
    conn.execute("BEGIN")
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
    return app_id, objects


def _header_id(path: str) -> int | None:
    """The application id in the file's SQLite header, None for a file that is not SQLite.

    Read only where SQLite cannot tell: a plain ``open()`` and ``close()`` of a database
    drops every POSIX lock this process holds on it, under any live connection.
    """
    try:
        with open(path, "rb") as fh:
            header = fh.read(72)
    except OSError:
        return None
    if len(header) < 72 or not header.startswith(_SQLITE_MAGIC):
        return None
    return int.from_bytes(header[68:72], "big")


_SQLITE_MAGIC = b"SQLite format 3\x00"
_FOREIGN = "not a chunkscope cache; left untouched (remove it or pick another path)"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Cache:
    """One process's handle on a cache file; thread-safe (serve's ``--threads`` shares it).

    Opening checks that the file is a chunkscope cache of this schema, creating it when
    absent and rebuilding it when it is ours but damaged or older. ``check=True`` adds
    SQLite's ``quick_check`` (the run's main process does it once; workers skip it).
    ``notes`` lists what opening had to repair, for the one warning the caller logs.
    """

    def __init__(self, path: str, max_bytes: int = DEFAULT_CACHE_MAX_BYTES, *, check: bool = False):
        self.path = os.path.abspath(path)
        self.max_bytes = max_bytes
        self.notes: list[str] = []
        self.write_error: str | None = None
        self.read_error: str | None = None
        self._lock = threading.Lock()
        self._touched: list[tuple[int, int]] = []
        self._written = 0
        self._conn = self._open(check)

    # opening

    def _open(self, check: bool) -> sqlite3.Connection:
        """Connect and make sure the file is a usable cache of this schema.

        Everything goes through SQLite, never a plain ``open()`` of the file: closing any
        descriptor of a database drops every POSIX lock this process holds on it, which
        corrupts it under another connection of the same process.
        """
        if os.path.isdir(self.path):
            raise CacheUnavailable("is a directory")
        with contextlib.suppress(OSError):
            if 0 < os.path.getsize(self.path) < 100:  # SQLite would take it for an empty one
                raise CacheUnavailable(_FOREIGN)
        app_id = 0
        conn: sqlite3.Connection | None = None
        try:
            try:
                conn = _connect(self.path)
                app_id, objects = _identity(conn)
            except sqlite3.DatabaseError as exc:
                if "malformed" in str(exc) and _header_id(self.path) == APPLICATION_ID:
                    raise  # ours, cut short or overwritten: rebuilt below
                reason = _FOREIGN if "not a database" in str(exc) else _describe(exc)
                raise CacheUnavailable(reason) from None
            if app_id != APPLICATION_ID and (app_id != 0 or objects):
                raise CacheUnavailable(_FOREIGN)  # read, never written: someone else's file
            self._prepare(conn, check)
            return conn
        except CacheUnavailable:
            if conn is not None:
                conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            busy_or_denied = isinstance(exc, sqlite3.OperationalError) and not _damaged(exc)
            if busy_or_denied or APPLICATION_ID not in (app_id, _header_id(self.path)):
                raise CacheUnavailable(_describe(exc)) from None
            self._remove()
            self.notes.append(f"damaged ({exc}); rebuilt empty")
        conn = self._connection()
        try:
            self._prepare(conn, False)
        except (sqlite3.Error, CacheUnavailable) as exc:
            conn.close()
            raise CacheUnavailable(str(exc)) from None
        return conn

    def _connection(self) -> sqlite3.Connection:
        try:
            return _connect(self.path)
        except sqlite3.Error as exc:
            raise CacheUnavailable(_describe(exc)) from None

    def _remove(self) -> None:
        for name in _sidecars(self.path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)

    def _prepare(self, conn: sqlite3.Connection, check: bool) -> None:
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # only before the first table
            conn.execute("PRAGMA journal_mode=WAL")
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            self._migrate(conn)
        if check:
            verdict = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {verdict}")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Create the schema, or replace an older one; concurrent openers serialise here."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise CacheUnavailable(f"written by a newer chunkscope (schema {version})")
            if version < SCHEMA_VERSION:
                old = conn.execute(
                    "SELECT type, name FROM sqlite_master "
                    "WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite_%'"
                ).fetchall()
                for kind, name in old:
                    conn.execute(f'DROP {kind} IF EXISTS "{name}"')
                if version > 0 or old:
                    self.notes.append(f"schema {version} is older than {SCHEMA_VERSION}; rebuilt")
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    # entries

    def get(self, key: bytes) -> bytes | None:
        """The verified value under ``key``, or None; raises ``sqlite3.Error`` on failure."""
        ident = int.from_bytes(key[:8], "big", signed=True)
        with self._lock:
            row = self._conn.execute(
                "SELECT key, value, checksum FROM entries WHERE id = ?", (ident,)
            ).fetchone()
            if row is None or row[0] != key or row[2] != _checksum(key, row[1]):
                return None
            self._touched.append((time.time_ns(), ident))
            if len(self._touched) >= TOUCH_BATCH:
                self._flush_touches()
        return bytes(row[1])

    def put(self, key: bytes, value: bytes) -> None:
        """Store one entry in its own transaction; raises ``sqlite3.Error`` on failure."""
        ident = int.from_bytes(key[:8], "big", signed=True)
        with self._lock:
            self._conn.execute(  # a statement outside BEGIN is its own transaction
                "INSERT OR REPLACE INTO entries (id, key, value, checksum, used) "
                "VALUES (?, ?, ?, ?, ?)",
                (ident, key, value, _checksum(key, value), time.time_ns()),
            )
            self._written += len(key) + len(value)
            if self._written >= min(EVICT_CHECK_BYTES, self.max_bytes // 16):
                self._written = 0
                self._evict_if_over()

    def _flush_touches(self) -> None:
        touched, self._touched = self._touched, []
        if not touched or self.write_error is not None:
            return
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("UPDATE entries SET used = ? WHERE id = ?", touched)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self.write_error = _describe(exc)

    def flush(self) -> None:
        """Write the last-use times of recent hits (LRU order); never raises."""
        with self._lock:
            self._flush_touches()
            if self._written and self.write_error is None:
                self._written = 0
                with contextlib.suppress(sqlite3.Error):
                    self._evict_if_over()

    # size

    def used_bytes(self) -> int:
        """Bytes of all entries: keys, values and ``ROW_OVERHEAD`` each; what the bound bounds.

        The file is this plus SQLite's page slack and the last-use index; free pages are
        handed back after each eviction (incremental auto-vacuum).
        """
        return int(self._conn.execute("SELECT bytes FROM totals").fetchone()[0])

    def _evict_if_over(self) -> None:
        if self.used_bytes() > self.max_bytes:
            self._evict(int(self.max_bytes * EVICT_TARGET))

    def _evict(self, target: int) -> int:
        """Delete least recently used entries until the entries fit ``target`` bytes."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")  # another process may be evicting: decide inside
        try:
            need = self.used_bytes() - target
            victims = []
            if need > 0:
                for ident, size in conn.execute(f"SELECT id, {_SIZE} FROM entries ORDER BY used"):
                    victims.append((ident,))
                    need -= size
                    if need <= 0:
                        break
                conn.executemany("DELETE FROM entries WHERE id = ?", victims)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        if victims:
            conn.execute("PRAGMA incremental_vacuum")
        return len(victims)

    def prune(self, max_bytes: int | None = None) -> int:
        """Evict down to ``max_bytes`` (default: this handle's bound), then compact the file."""
        with self._lock:
            self._flush_touches()
            removed = self._evict(self.max_bytes if max_bytes is None else max_bytes)
            self._compact()
        return removed

    def clear(self) -> int:
        """Delete every entry and compact the file."""
        with self._lock:
            self._touched.clear()
            removed = self._conn.execute("DELETE FROM entries").rowcount
            self._compact()
        return int(removed)

    def _compact(self) -> None:
        self._conn.execute("VACUUM")
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def stats(self) -> dict[str, Any]:
        """What is in the cache, for ``chunkscope cache stats``."""
        with self._lock:
            self._flush_touches()
            count, oldest, newest = self._conn.execute(
                "SELECT count(*), min(used), max(used) FROM entries"
            ).fetchone()
            used = self.used_bytes()

        def size(name: str) -> int:
            try:
                return os.stat(name).st_size
            except OSError:
                return 0

        def stamp(ns: int | None) -> str | None:
            if ns is None:
                return None
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns / 1e9))

        return {
            "path": self.path,
            "schema": SCHEMA_VERSION,
            "entries": count,
            "entry_bytes": used,
            "file_bytes": size(self.path),
            "wal_bytes": size(self.path + "-wal"),
            "oldest_use": stamp(oldest),
            "newest_use": stamp(newest),
        }

    def close(self) -> None:
        with self._lock:
            self._flush_touches()
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()


def _damaged(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("malformed", "not a database", "corrupt", "quick_check"))


# -- one handle per process, and the pipeline's hook ----------------------------------------------


@dataclass(slots=True)
class _Slot:
    cache: Cache | None
    warned: bool = False


_slots: dict[tuple[str, int], _Slot] = {}
_slots_lock = threading.Lock()


def _warn(event: str, path: str, reason: str) -> None:
    get_logger().warning(event, path=path, reason=reason)


def open_cache(path: str, max_bytes: int, *, check: bool = False) -> _Slot:
    """This process's handle on the cache at ``path``, opened on first use.

    Every problem is logged once per process (never from a worker, whose main process
    opened the same file first and said it there).
    """
    key = (os.path.abspath(path), max_bytes)
    slot = _slots.get(key)
    if slot is not None:
        return slot
    with _slots_lock:
        slot = _slots.get(key)
        if slot is not None:
            return slot
        quiet = in_worker_process()
        try:
            handle = Cache(path, max_bytes, check=check and not quiet)
        except (CacheUnavailable, sqlite3.Error) as exc:
            reason = str(exc) if isinstance(exc, CacheUnavailable) else _describe(exc)
            slot = _Slot(None, warned=quiet)
            if not quiet:
                _warn("cache.unavailable", path, reason + "; chunking without a cache")
        else:
            slot = _Slot(handle, warned=quiet)
            for note in handle.notes if not quiet else ():
                _warn("cache.rebuilt", path, note)
        _slots[key] = slot
        return slot


def prepare(options: ChunkOptions) -> ChunkOptions:
    """Open (and check) ``options.cache`` before a run; without a usable cache, no cache.

    Called by the run's main process, so each problem is one warning there and worker
    processes never try a cache that cannot work.
    """
    if options.cache is None:
        return options
    slot = open_cache(options.cache, options.cache_max_bytes, check=True)
    return options if slot.cache is not None else replace(options, cache=None)


def flush_all() -> None:
    """Write pending last-use times of every open cache; end of a batch or a run."""
    for slot in list(_slots.values()):
        if slot.cache is not None:
            slot.cache.flush()


def close_all() -> None:
    """Close every handle this process opened (tests, ``chunkscope cache``)."""
    with _slots_lock:
        for slot in _slots.values():
            if slot.cache is not None:
                slot.cache.close()
        _slots.clear()


def _failed(slot: _Slot, what: str, exc: BaseException) -> None:
    assert slot.cache is not None
    reason = _describe(exc)
    if what == "read":
        slot.cache.read_error = reason
    slot.cache.write_error = reason
    if not slot.warned:
        slot.warned = True
        then = "chunking without the cache" if what == "read" else "no more entries are stored"
        _warn(f"cache.{what}_failed", slot.cache.path, f"{reason}; {then}")


@dataclass(slots=True)
class Lookup:
    """The cache's answer for one file: a ready result on a hit, else how to store the file."""

    hit: FileResult | None
    state: CacheLookup
    slot: _Slot | None = None
    key: bytes = b""

    def store(self, result: FileResult, node_count: int = 0) -> FileResult:
        """Store a freshly chunked file and mark it with this lookup's outcome."""
        slot = self.slot
        if (
            result.outcome == "chunked"
            and slot is not None
            and slot.cache is not None
            and slot.cache.write_error is None
        ):
            try:
                slot.cache.put(self.key, encode(result, node_count))
            except sqlite3.Error as exc:
                _failed(slot, "write", exc)
                return replace(result, cache="error")
        return replace(result, cache=self.state)


class _Miss(Exception):
    """Raised by ``lookup`` while probing: the file needs chunking, elsewhere."""


_probing = threading.local()


def probe(entry: Entry, options: ChunkOptions) -> FileResult | None:
    """The entry's result if it takes no parsing (a hit, a skip, an unreadable file), else
    None: ``--jobs`` looks every file up in the main process and sends workers the misses."""
    from chunkscope.pipeline import process_entry

    _probing.on = True
    try:
        return process_entry(entry, options)
    except _Miss:
        return None
    finally:
        _probing.on = False


def lookup(source: bytes, path: str, language: str, options: ChunkOptions, start_ns: int) -> Lookup:
    """Look ``source`` up; on a hit the result is ready, chunks rebuilt for ``path``."""
    assert options.cache is not None
    found = _lookup(source, path, language, options, start_ns)
    if found.hit is None and getattr(_probing, "on", False):
        raise _Miss
    return found


def _lookup(
    source: bytes, path: str, language: str, options: ChunkOptions, start_ns: int
) -> Lookup:
    slot = open_cache(options.cache, options.cache_max_bytes)
    handle = slot.cache
    if handle is None or handle.read_error is not None:
        return Lookup(None, "error")
    key = cache_key(source, language, options)
    try:
        value = handle.get(key)
    except sqlite3.Error as exc:
        _failed(slot, "read", exc)
        return Lookup(None, "error")
    if value is not None:
        try:
            decoded = decode(value, source, path, language)
        except (ValueError, TypeError, IndexError, orjson.JSONDecodeError):
            pass  # verified yet undecodable: written by a buggy build; chunk and overwrite
        else:
            return Lookup(
                FileResult(
                    path=path,
                    outcome="chunked",
                    language=language,
                    size=len(source),
                    chunks=decoded.chunks,
                    has_syntax_error=decoded.has_syntax_error,
                    timings=StageTimes(  # a hit runs neither stage: no parse, no extract span
                        start_ns,
                        now_ns(),
                        node_count=decoded.node_count,
                        has_syntax_error=decoded.has_syntax_error,
                    ),
                    cache="hit",
                ),
                "hit",
            )
    return Lookup(None, "miss", slot, key)
