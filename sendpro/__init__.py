"""sendpro: MCE encounter flat files to MassHealth SENDPro 837 PACDR and NCPDP files."""
