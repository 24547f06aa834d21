"""Transcription engines: local and cloud adapters of the Transcriber port."""
