"""Benchmarks of mlx_expm_ext against its peers: run python bench/bench.py."""
