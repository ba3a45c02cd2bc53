"""Pareto flags from coview's window-function SQL against a brute-force O(n^2) check."""

from __future__ import annotations

import random

import duckdb
import pytest

from coview.store.pareto import PARETO_SQL, pareto_config_ids, update_pareto
from coview.store.schema import create_schema

GROUP = ("sweep_id", "model_id", "phase", "system_id")


def brute_force(rows: list[dict]) -> set[int]:
    """Definition from DESIGN.md, checked pair by pair."""
    ok = [
        r
        for r in rows
        if r["fits_memory"] and r["latency_s"] is not None and r["perf_per_tco"] is not None
    ]
    front = set()
    for p in ok:
        dominated = False
        for q in ok:
            if q is p or any(q[k] != p[k] for k in GROUP):
                continue
            le = q["latency_s"] <= p["latency_s"] and q["perf_per_tco"] >= p["perf_per_tco"]
            strict = q["latency_s"] < p["latency_s"] or q["perf_per_tco"] > p["perf_per_tco"]
            if le and strict:
                dominated = True
                break
        if not dominated:
            front.add(p["config_id"])
    return front


def random_configs(seed: int, n: int) -> list[dict]:
    rnd = random.Random(seed)
    # Few distinct values so ties in latency, in perf and exact duplicates are common.
    lat_values = [rnd.choice([0.5, 1.0, 1.5, 2.0, 3.0]) for _ in range(6)]
    rows = []
    for i in range(n):
        rows.append(
            {
                "config_id": i + 1,
                "sweep_id": rnd.choice(["s1", "s2"]),
                "model_id": "m",
                "phase": rnd.choice(["prefill", "decode"]),
                "system_id": rnd.choice(["a", "b", "c"]),
                "latency_s": None if rnd.random() < 0.05 else rnd.choice(lat_values),
                "perf_per_tco": None if rnd.random() < 0.05 else float(rnd.randint(1, 6)),
                "fits_memory": None if rnd.random() < 0.05 else rnd.random() < 0.8,
            }
        )
    return rows


def load(rows: list[dict]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_schema(con)
    cols = list(rows[0])
    con.executemany(
        f"INSERT INTO configs ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        [[r[c] for c in cols] for r in rows],
    )
    return con


@pytest.mark.parametrize("seed", range(12))
def test_matches_brute_force_on_random_data_with_ties(seed):
    rows = random_configs(seed, 300)
    con = load(rows)
    expected = brute_force(rows)
    assert pareto_config_ids(con) == expected
    n = update_pareto(con)
    assert n == len(expected)
    flags = dict(con.execute("SELECT config_id, is_pareto FROM configs").fetchall())
    assert {c for c, f in flags.items() if f} == expected
    assert all(f is not None for f in flags.values())  # never NULL after the update


def test_ties_and_duplicates_by_hand():
    base = {
        "sweep_id": "s",
        "model_id": "m",
        "phase": "decode",
        "system_id": "a",
        "fits_memory": True,
    }
    pts = {
        1: (1.0, 10.0),  # frontier
        2: (1.0, 10.0),  # exact duplicate of 1: also frontier
        3: (1.0, 9.0),  # same latency, worse perf: dominated
        4: (2.0, 10.0),  # slower, same perf: dominated
        5: (2.0, 12.0),  # frontier
        6: (3.0, 12.0),  # dominated by 5
        7: (0.5, 1.0),  # fastest: frontier
    }
    rows = [dict(base, config_id=k, latency_s=lat, perf_per_tco=p) for k, (lat, p) in pts.items()]
    rows.append(dict(base, config_id=8, latency_s=0.1, perf_per_tco=100.0, fits_memory=False))
    rows.append(dict(base, config_id=9, latency_s=0.1, perf_per_tco=None))
    con = load(rows)
    assert pareto_config_ids(con) == {1, 2, 5, 7} == brute_force(rows)


def test_groups_are_separate_and_sweep_filter_limits_the_update():
    rows = random_configs(99, 200)
    con = load(rows)
    update_pareto(con, ["s1"])
    flags = dict(con.execute("SELECT config_id, is_pareto FROM configs").fetchall())
    s1 = brute_force([r for r in rows if r["sweep_id"] == "s1"])
    for r in rows:
        if r["sweep_id"] == "s1":
            assert flags[r["config_id"]] == (r["config_id"] in s1)
        else:
            assert flags[r["config_id"]] is None  # untouched


def test_sql_is_window_based_not_a_self_join():
    text = PARETO_SQL.lower()
    assert "over (" in text and "rows between unbounded preceding and 1 preceding" in text
    # The only joins are equi-joins on the group number (and latency): no pairwise comparison.
    assert (
        text.count("join") == 2
        and "join grp using" in text
        and "join front f using (g, lat)" in text
    )
