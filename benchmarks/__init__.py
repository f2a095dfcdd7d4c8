"""Side-by-side benchmarks, run as modules from the project's root: `python -m benchmarks.bench` (training, the
notebook's loop against the recipes), `benchmarks.profile_step` (kernels and host time per training step),
`benchmarks.bench_seeds` (a seed study's cost), `benchmarks.bench_predict` (serving backends), `benchmarks.notebook_loop`
(the yardstick), `benchmarks.new_shape_cost` (a GPU's first use of a batch length); `gpu.sh`, all of it on a GPU in one
call. Results are data (`benchmarks.results`, the committed runs in `benchmarks/results/`), and docs/benchmarks.md's
tables are generated from them (`python -m benchmarks.tables`)."""
