"""The drumgen HTTP/WebSocket server: thin FastAPI routes over drumgen.engine and drumgen.train (see docs/API.md)."""
