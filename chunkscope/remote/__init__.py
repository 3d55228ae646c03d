"""``chunkscope chunk --remote URL``: chunk a tree on a fleet of ``chunkscope serve`` replicas.

    $ chunkscope chunk src --remote http://10.0.0.7:8080 --remote http://10.0.0.8:8080 \\
        --jobs 8 --output chunks.jsonl --report run.json

Or from Python, as the executor of ``chunk_paths``::

    from chunkscope import ChunkOptions, chunk_paths
    from chunkscope.remote import RemoteChunker

    remote = RemoteChunker(["http://127.0.0.1:8080"])
    for result in chunk_paths(["src"], ChunkOptions(jobs=8), executor=remote):
        print(result.path, result.outcome, len(result.chunks))

The walk, the reads and the output stay in this process; each file travels to a replica
and comes back as the ``FileResult`` a local run would make, so the JSONL, the report and
the summary are the same. Retries and their bounds are in ``retry``; client spans and
metrics in ``telemetry`` (loaded only with telemetry on). docs/scale.md says when to use
``--remote`` rather than ``--jobs``.
"""

from __future__ import annotations

from chunkscope.remote.client import RemoteChunker, RemoteMetrics, ServiceLimits
from chunkscope.remote.retry import Replicas, RetryPolicy

__all__ = ["RemoteChunker", "RemoteMetrics", "Replicas", "RetryPolicy", "ServiceLimits"]
