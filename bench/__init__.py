"""`make bench`: the benchmark workload of docs/benchmark.md."""
