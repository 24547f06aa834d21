"""The local note engine: extractive, offline, deterministic, every sentence with evidence."""

from .summarizer import LocalSummarizer
from .writer import write_note

__all__ = ["LocalSummarizer", "write_note"]
