"""The shipped document, as package data: `consensus_chat.ingest.config.default_corpus()` finds it here."""
