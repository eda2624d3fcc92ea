"""Embeddings of whole catalogues: sharded files, search, clustering and outliers."""
