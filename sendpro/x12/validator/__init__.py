"""A compiled X12 validator that reports exactly what pyx12 reports, many times faster.

- :mod:`.compiler` turns a pyx12 map (the derived PACDR maps, the control and 999
  maps) into plain tables, cached as JSON next to the derived maps;
- :mod:`.patterns` builds one regular expression per segment node from them;
- :mod:`.walker` places segments in the map as pyx12's walker does, with
  memoised transitions replayed against live counters;
- :mod:`.engine` reads a file as pyx12 does, checks every segment fast, and has
  pyx12 itself diagnose any transaction set (or file) with a finding;
- :mod:`.envelope` reads the ISA by its fixed positions and finds control segments
  out of order: what a damaged file's findings and acknowledgment need where
  pyx12 cannot read the header or stops.

pyx12 is reached only through callables the bridge (``sendpro.validate.pyx12_bridge``)
passes in; the compiler alone reads pyx12's map objects.
"""
