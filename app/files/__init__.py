"""Encrypted file storage: envelope encryption, blob stores, streamed uploads and downloads."""
