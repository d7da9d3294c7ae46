"""`make bench`: the benchmark workload of the shared spec (benchmark.md)."""
