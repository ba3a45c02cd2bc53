"""coview's own analytical roofline sweep model (`coview simulate`).

- `coview.sim.roofline`: the per-operator model of decoder-only transformer inference (every
  formula is in its docstring).
- `coview.sim.spec`: the TOML sweep spec (format in its docstring) and `SpecError`.
- `coview.sim.sweep`: `simulate(spec_path, out_dir) -> summary`, which runs the grid and
  writes schema-v1 native Parquet files, reproducible bit for bit.
"""
