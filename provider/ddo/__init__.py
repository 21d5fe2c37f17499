"""DDOs: decoding documents from the chain, the built-in indexer, and DID resolution."""
