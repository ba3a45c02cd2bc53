"""coview's own analytical roofline sweep model (`coview simulate`).

- `coview.sim.roofline`: the per-operator reference model of decoder-only transformer
  inference (every formula and the joint SRAM placement policy are in its docstring).
- `coview.sim.grid`: the same model vectorised with numpy over a grid of configurations,
  bit-identical to the reference; what `coview simulate` and what-if re-simulation run.
- `coview.sim.spec`: the TOML sweep spec (format in its docstring), `SpecError`, and the
  spec's JSON form stored in sweeps.sim_spec.
- `coview.sim.sweep`: `simulate(spec_path, out_dir) -> summary`, which runs the grid and
  writes schema-v1 native Parquet files, reproducible bit for bit.
"""
