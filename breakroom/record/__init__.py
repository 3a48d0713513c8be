"""The record: the database, the event log with its full-text search, and replay."""
