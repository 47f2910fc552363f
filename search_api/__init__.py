"""Search API: hybrid multilingual retrieval over an index built by `indexer`."""
