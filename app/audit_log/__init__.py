"""Reading the audit log: its pages, queries and CSV export (the writer is ``app.audit``).

Unlike the writer, which every feature calls, the reader may import features: it names the
posts, meetings and documents an event is about."""
