"""DropDesk service: transaction store, diagnosis engine, channels and console."""
