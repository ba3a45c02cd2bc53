"""Questions comparing two simulators' runs of the same configs (GenZ vs coview's roofline)."""

from __future__ import annotations

import duckdb
import pytest
from test_offline_helpers import ask, close, times_in


@pytest.fixture(scope="module")
def two_sims(tmp_path_factory):
    from coview.sample_data import DEFAULT_SWEEP
    from coview.store.ingest import ingest

    genz = DEFAULT_SWEEP.parent / "genz"
    path = tmp_path_factory.mktemp("two") / "two.duckdb"
    ingest([DEFAULT_SWEEP], path, fmt="native", progress=False)
    ingest(
        [genz], path, fmt="genz", progress=False,
        options={"tco": {"H100": 2.5, "MI300X": 2.8, "TPU v5p": 4.2}},
    )  # fmt: skip
    return path


def test_two_simulators_compared_per_operator(two_sims):
    r = ask(
        two_sims,
        "how much do GenZ and coview's roofline differ on H100 decode latency at batch 8 TP 4, "
        "and in which operators?",
    )
    assert r.status == "answered" and r.grounding.ok, r.answer
    con = duckdb.connect(str(two_sims), read_only=True)
    lat = dict(
        con.execute(
            "SELECT w.simulator, c.latency_s FROM configs c JOIN sweeps w USING (sweep_id) "
            "JOIN systems s USING (system_id) JOIN models m USING (model_id) WHERE s.name = "
            "'H100' AND m.name = 'Llama-2-70B' AND c.phase = 'decode' AND c.batch_size = 8 "
            "AND c.tp = 4 AND c.weight_dtype = 'bf16'"
        ).fetchall()
    )
    con.close()
    first = r.answer.split("\n")[0]
    assert all(close(v, times_in(first)) for v in lat.values()), (lat, first)
    assert "all_reduce" in r.answer and "SRAM" in r.answer
    assert r.interpretation["reading"].startswith("simulator comparison")


def test_one_simulator_store_refuses_the_name(sample_store):
    r = ask(sample_store, "how do genz and coview differ on H100 decode at batch 8 TP 4?")
    assert r.status == "refused" and "genz" in r.answer.lower()


def test_the_second_simulators_data_is_reachable_by_name(two_sims):
    con = duckdb.connect(str(two_sims), read_only=True)
    (genz,) = con.execute(
        "SELECT c.latency_s FROM configs c JOIN sweeps w USING (sweep_id) JOIN systems s "
        "USING (system_id) JOIN models m USING (model_id) WHERE w.simulator = 'genz' AND "
        "s.name = 'H100' AND m.name = 'Llama-2-70B' AND c.phase = 'decode' AND "
        "c.batch_size = 8 AND c.tp = 4"
    ).fetchone()
    con.close()
    r = ask(two_sims, "h100 decode latency in genz at batch 8 tp 4 llama-2-70b bf16")
    assert r.status == "answered" and close(genz, times_in(r.answer)), r.answer
    # GenZ produces no power: refused as not produced, never 0 W
    r = ask(two_sims, "power of MI300X decode batch 8 tp 2 bf16 llama-2-7b")
    assert r.status == "refused" and "power_w" in r.answer and "did not produce" in r.answer
