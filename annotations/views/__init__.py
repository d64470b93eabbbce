"""HTML pages and htmx fragments, one module per feature."""
