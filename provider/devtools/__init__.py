"""Development tooling: local chain, contract deployment, demo publishing, file server.

Used by `make run` and by the test fixtures, so the tests exercise the same code a new
user runs. Nothing in here is imported by the provider when it serves requests.
"""
