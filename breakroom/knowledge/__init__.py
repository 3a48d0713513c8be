"""The knowledge proxy: corpus, retrieval, embeddings, and the answer engine with its backends."""
