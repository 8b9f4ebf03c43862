"""NCPDP pharmacy output: layouts, the record codec, writers, reading back and validation."""
