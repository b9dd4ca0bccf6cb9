"""Trace format v1 (shared/docs/trace-format.md): its records as typed values, a streaming
reader with located errors, and the writer.

`hasm.trace.read_trace`, `TraceReader` and `TraceWriter` are the documented entry points."""

from hasm.trace.reader import TraceReader, read_trace
from hasm.trace.writer import TraceWriter

__all__ = ["TraceReader", "TraceWriter", "read_trace"]
