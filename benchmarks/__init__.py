"""Side-by-side benchmarks, run as modules from the project's root: `python -m benchmarks.bench` (training, the
notebook's loop against the recipes), `benchmarks.bench_seeds` (a seed study's cost), `benchmarks.bench_predict`
(serving backends), `benchmarks.notebook_loop` (the yardstick), `benchmarks.new_shape_cost` (a GPU's first use of a
batch length)."""
