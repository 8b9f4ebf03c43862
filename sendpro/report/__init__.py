"""Issues, run reports and their formatters (the bottom layer)."""
