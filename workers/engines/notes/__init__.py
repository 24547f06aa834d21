"""Note engines; each implements ``workers.engines.base.Summarizer``."""
