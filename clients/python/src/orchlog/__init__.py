"""orchlog: send AI-agent orchestrator events to an orchlog relay from Python.

    from orchlog import Client
    c = Client(socket="/run/orchlog/ingest.sock", source="checkout-api")
    c.tool_call(tool="crm", outcome="timeout", latency=30.0, fallback=True)

One method per event type (orchlog.schema.TYPES), keyword arguments named as the NDJSON
fields (docs/ndjson.md). Standard library only. The user guide is docs/python.md.
"""
from ._client import MAX_SOCKET_PATH, MAX_SOURCE_BYTES, Client, source_name_problem
from ._codegen import MAX_EVENT_BYTES
from .schema import NDJSON_VERSION, SCHEMA, TYPES

__version__ = "0.1.0"

__all__ = ["Client", "MAX_EVENT_BYTES", "MAX_SOCKET_PATH", "MAX_SOURCE_BYTES", "NDJSON_VERSION",
           "SCHEMA", "TYPES", "source_name_problem", "__version__"]
