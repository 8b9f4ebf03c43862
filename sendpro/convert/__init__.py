"""The convert pipeline as named stages with typed hand-offs.

* :mod:`~sendpro.convert.plan` — the frozen :class:`~sendpro.convert.plan.RunPlan`: layout,
  profile, rules and their typed resources;
* :mod:`~sendpro.convert.preflight` — the first pass over every input (counts, claim index, FF009);
* the engine (:mod:`sendpro.validate.engine`) — checked batches, each claim given one disposition;
* :mod:`~sendpro.convert.sinks` — outputs, rejects, issues, journal and tallies, each one thing;
* :mod:`~sendpro.convert.selfcheck` — output validation, OB001 and reconciliation from disk;
* :mod:`~sendpro.convert.publish` — the ledger's records, the reports and the atomic publish;
* :mod:`~sendpro.convert.pipeline` — :func:`~sendpro.convert.pipeline.convert_files`, the stages in order.
"""
