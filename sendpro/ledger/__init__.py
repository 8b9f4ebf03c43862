"""The submission ledger: control numbers, submitted encounter versions, acknowledgments."""
