"""Indexer: turns news articles into a searchable hybrid (dense + BM25) index."""

FORMAT_VERSION = 3
