"""Chatdesk's SQLite database: one file in the data directory, versioned by `user_version`."""
