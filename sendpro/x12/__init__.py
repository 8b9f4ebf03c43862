"""X12 837 PACDR writing and reading back."""
