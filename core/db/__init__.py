"""The database: the source of truth for jobs, uploads, transcripts, notes and job events."""
