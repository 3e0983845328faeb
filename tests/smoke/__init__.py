"""Short runs of the benchmarks and fault scripts: they must work, their timings are not checked."""
