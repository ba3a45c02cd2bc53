"""The DuckDB store: schema v1, ingest and validation, importers, Pareto flags, sessions.

Nothing here imports Textual; the TUI and the engine reach the data through this package.
"""
