"""Rules, the validation engine and the pyx12 bridge."""
