"""The shipped document, as package data: `ingest.config.default_corpus()` finds it here."""
