"""MassHealth's SENDPro data-quality measures, computed on the claims a run is about to send.

The measures (``schemas/dq/measures.toml``) restate MassHealth's public DQ queries;
:class:`~sendpro.dq.accumulator.DqAccumulator` sums them over the accepted claims of
each batch, and the run report lists each measure's rate per output file, claim
group and record type (``dq_measures``) and the measures it could not compute
(``dq_not_computed``).
"""

from sendpro.dq.accumulator import DqAccumulator, summary_lines
from sendpro.dq.checks import Lists
from sendpro.dq.measures import Measure, MeasureSet, load_measures

__all__ = ["DqAccumulator", "Lists", "Measure", "MeasureSet", "load_measures", "summary_lines"]
