"""SQL migrations, applied by sinks/migrate.py (a package so wheels ship the .sql files)."""
