"""Indexer: turns news articles into a searchable hybrid (dense + BM25) index."""

FORMAT_VERSION = 4  # 4: sentence vectors as memory-mapped int8 arrays, no sentence index
