"""Blob store port (``base.py``) and its adapters: ``local.py`` (a folder), ``s3.py`` (S3)."""
