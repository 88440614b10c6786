"""Database tables and other adapters of the registry service."""
