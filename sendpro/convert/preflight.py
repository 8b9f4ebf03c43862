"""The ``preflight`` stage: the first pass over every input, before anything is written.

Each reader's :meth:`~sendpro.flatfile.reader.FlatFileReader.scan` counts rows
and claims, checks header and trailer records and builds the on-disk claim
index; claim ids found in two inputs stop the run (FF009). An unusable file
stops the run here with no output at all.
"""

from __future__ import annotations

from collections.abc import Sequence

from sendpro.convert.plan import RunPlan
from sendpro.flatfile.problems import CLAIM_IN_TWO_FILES
from sendpro.flatfile.reader import FlatFileReader
from sendpro.report.report import InputSummary


def open_readers(plan: RunPlan) -> list[FlatFileReader]:
    """Return a reader per input (not yet opened: opening happens in :func:`preflight`)."""
    cfg = plan.config
    return [
        FlatFileReader(
            p,
            plan.layout,
            encoding=cfg.encoding,
            chunk_lines=cfg.chunk_lines,
            display_name=str(p),
            temp_dir=cfg.temp_dir,
        )
        for p in plan.inputs
    ]


def preflight(plan: RunPlan, readers: Sequence[FlatFileReader]) -> list[InputSummary]:
    """Scan every input; return what the report says of each.

    Raises:
        SendproError: a file that cannot be converted at all, or claims in two inputs.
    """
    summaries = []
    for reader in readers:
        scan = reader.scan()
        claims = scan.data_rows if plan.layout.catalog.rows_are_claims else scan.claims
        summaries.append(
            InputSummary(
                reader.name,
                plan.layout.name,
                scan.data_rows,
                claims,
                scan.split_claims,
                unverified_checks=list(scan.unverified_checks),
            )
        )
    refuse_claims_in_two_files(readers)
    return summaries


def refuse_claims_in_two_files(readers: Sequence[FlatFileReader]) -> None:
    """Stop the run, before anything is written, when a claim id is in more than one input.

    Claims are grouped within a file: rows of one claim in two files would be two
    claims (a split claim cut by the extract), and the same claim in two files
    (a file given twice) would be sent twice. Either way the inputs need joining
    or separate runs. The check reads the files' on-disk claim indexes in chunks.
    """
    for k, reader in enumerate(readers):
        index = reader.claim_index
        if index is None or k == 0:
            continue
        count = 0
        example: tuple[str, str, int, int] | None = None
        for keys in index.iter_keys():
            keys = [key for key in keys if key]
            for earlier in readers[:k]:
                if earlier.claim_index is None:
                    continue
                found = earlier.claim_index.first_rows(keys)
                count += len(found)
                if found and example is None:
                    key = min(found)
                    mine = index.first_rows([key])[key]
                    example = (key, earlier.name, found[key], mine)
        if example is not None:
            key, other, other_row, row = example
            raise CLAIM_IN_TWO_FILES.error(
                reader.name,
                f"{count} claim id(s) are also in {other}, e.g. claim {key} (line {row}; line {other_row} there): "
                "a claim's rows must be in one input; join the files or convert them in separate runs",
            )
