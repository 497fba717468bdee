"""Server-rendered screens (htmx); templates live in the top-level ui/ folder."""
