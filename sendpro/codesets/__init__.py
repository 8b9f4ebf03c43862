"""Code sets (SNIP type 5): dated code lists, bundled or configured, checked as polars expressions."""
