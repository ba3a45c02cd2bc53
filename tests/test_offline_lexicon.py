"""The offline lexicon reads entities from the store itself: a store with other systems and
models (hub-style names) works with no code change, and the sample's names are unknown there."""

from __future__ import annotations

import duckdb
import pytest

from coview.engine.offline.lexicon import load_lexicon
from coview.engine.offline.parser import Unanswerable, parse
from coview.engine.pipeline import Pipeline
from coview.store.schema import create_schema


@pytest.fixture(scope="module")
def other_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("other") / "other.duckdb"
    con = duckdb.connect(str(path))
    create_schema(con)
    con.execute("INSERT INTO sweeps (sweep_id, name) VALUES ('s1', 'tiny sweep')")
    con.execute(
        "INSERT INTO systems (system_id, name, vendor, hbm_bytes, tdp_w) VALUES "
        "('zeta-9-pcie-48gb', 'Zeta-9 PCIe 48GB', 'Acme', 48e9, 350), "
        "('quark-2', 'Quark 2', 'Acme', 24e9, NULL)"
    )
    con.execute(
        "INSERT INTO models (model_id, name, num_layers) VALUES "
        "('foo13b', 'acme/Foo-13b-chat-v1', 40)"
    )
    rows = []
    cid = 0
    for sid in ("zeta-9-pcie-48gb", "quark-2"):
        for b in (1, 4):
            for tp in (1, 2):
                cid += 1
                lat = 0.01 * b / tp * (2 if sid == "quark-2" else 1)
                rows.append(
                    (cid, "s1", sid, "foo13b", "decode", b, tp, tp, "bf16", lat, b / lat, True)
                )
    con.executemany(
        "INSERT INTO configs (config_id, sweep_id, system_id, model_id, phase, batch_size, tp,"
        " num_chips, weight_dtype, latency_s, throughput_tok_per_s, fits_memory) VALUES "
        "(?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    con.execute(
        "INSERT INTO operators (config_id, op_index, op_type, op_class, count, compute_time_s,"
        " memory_time_s, comm_time_s, roofline_time_s) "
        "SELECT config_id, 0, 'q_proj', 'gemm', 40, latency_s / 100, latency_s / 80, 0,"
        " latency_s / 80 FROM configs"
    )
    con.close()
    return path


@pytest.mark.parametrize(
    "text, sid",
    [
        ("zeta-9", "zeta-9-pcie-48gb"),
        ("Zeta 9", "zeta-9-pcie-48gb"),
        ("the Acme Zeta-9 PCIe", "zeta-9-pcie-48gb"),
        ("zeta9 48gb", "zeta-9-pcie-48gb"),
        ("quark 2", "quark-2"),
        ("Quark-2", "quark-2"),
    ],
)
def test_system_variants_come_from_the_data(other_store, text, sid):
    it = parse(f"decode latency of {text} at batch 4 tp 2", load_lexicon(other_store))
    assert it.systems == [sid]


@pytest.mark.parametrize("text", ["foo 13b", "Foo-13B", "acme/Foo-13b-chat-v1", "13b"])
def test_hub_model_names(other_store, text):
    it = parse(f"decode latency of {text} on quark 2 at batch 4 tp 2", load_lexicon(other_store))
    assert it.models == ["foo13b"]


def test_sample_names_are_unknown_here(other_store):
    with pytest.raises(Unanswerable, match="no system named H100.*Quark 2"):
        parse("decode latency of H100 at batch 4", load_lexicon(other_store))
    with pytest.raises(Unanswerable, match="batch size 8; batch sizes are 1, 4"):
        parse("latency of quark 2 at batch 8", load_lexicon(other_store))


def test_answers_and_nulls_on_another_store(other_store):
    pipe = Pipeline(other_store, backend="offline")
    r = pipe.ask("zeta-9 vs quark 2 decode latency batch 4 tp 2 bf16")
    assert r.status == "answered" and r.grounding.ok, r.answer
    assert r.answer.startswith("Zeta-9 PCIe 48GB is faster: 2.00x faster than Quark 2")
    r = pipe.ask("TDP of quark 2")  # NULL in the data: refused, never 0 W
    assert r.status == "refused" and "tdp_w" in r.answer
    r = pipe.ask("which op takes longest on quark 2 decode batch 1 tp 1")
    assert r.status == "answered" and "q_proj takes longest" in r.answer


def test_two_sweeps_pick_one_that_holds_the_named_system(tmp_path):
    from coview.sample_data import DEFAULT_SWEEP, MISMATCH_SWEEP
    from coview.store.ingest import ingest

    store = tmp_path / "both.duckdb"
    ingest([DEFAULT_SWEEP], store, fmt="native", progress=False)
    ingest([MISMATCH_SWEEP], store, fmt="native", progress=False)
    pipe = Pipeline(store, backend="offline")
    r = pipe.ask("h100 decode latency b8 tp8 bf16")  # only the serving sweep has an H100
    assert r.status == "answered" and r.grounding.ok, r.answer
    assert "the newest sweep that holds what you named" in r.answer
    assert {x["config_id"] for x in r.rows} and all(x["system"] == "H100" for x in r.rows)
