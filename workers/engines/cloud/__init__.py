"""Cloud engines' shared plumbing: settings, keys, retries, rate limits, prompts."""
