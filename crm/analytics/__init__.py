"""Reports computed in the database (SQL aggregation); each returns a small dataclass
that the digest, the /report handler and the charts render."""
