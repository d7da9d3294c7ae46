"""Synthetic EHR extracts in Synthea's CSV layout, with planted cramp scenarios and known ground truth.

Entry point: `generate_extract(out_dir, patients, seed=42, batches=1, defects=0.0) -> GenerationSummary`;
`read_truth(out_dir)` reads the ground truth back (typed Polars frames).
"""

from pipelines.generate.extract import GenerationSummary, generate_extract, read_truth

__all__ = ["GenerationSummary", "generate_extract", "read_truth"]
