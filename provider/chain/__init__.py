"""Chain adapter: web3 connections, Ocean contract ABIs and addresses, transactions."""
