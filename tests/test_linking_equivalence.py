"""The faster linking functions give exactly what the implementations before issue 17 gave (tests/oracle_*.py,
kept verbatim), on randomised partners and links: same rows, ranks, ids, communities, reasons, and the same
floating-point values bit for bit (assert_frame_equal with check_exact)."""
from __future__ import annotations

import random

import networkx as nx
import pandas as pd
import pytest

import oracle_network
import oracle_peers
from phakhi.linking.network import betweenness, build_graph, network_metrics
from phakhi.linking.peers import match_peers

LINK_TYPES = ["joint_activity", "shared_credential", "parent_child"]


def random_network(seed: int):
    rnd = random.Random(seed)
    n = rnd.choice([1, 2, 3, 8, 40, 120, 300])
    ids = [f"P{rnd.randrange(10_000):05d}" for _ in range(n)]
    ids = sorted(set(ids))
    rows = []
    # a few dense clusters (many equal-length paths: path counts and ties), chains and stars, and stray links
    for _ in range(rnd.randint(0, max(1, len(ids) // 4))):
        size = rnd.randint(2, 12)
        members = rnd.sample(ids, min(size, len(ids)))
        p = rnd.choice([0.2, 0.5, 0.9])
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if rnd.random() < p:
                    x, y = (a, b) if rnd.random() < 0.8 else (b, a)
                    rows.append({"partner_a": x, "partner_b": y, "link_type": rnd.choice(LINK_TYPES),
                                 "weight": rnd.choice([1, 1, 2, 3, 0.5, None])})
    for _ in range(rnd.randint(0, 5)):        # self-links and links to partners who are not current: ignored
        a = rnd.choice(ids)
        rows.append({"partner_a": a, "partner_b": rnd.choice([a, "PXXXXX"]), "link_type": "joint_activity",
                     "weight": 1})
    links = pd.DataFrame(rows, columns=["partner_a", "partner_b", "link_type", "weight"])
    return ids, links


@pytest.mark.parametrize("seed", range(40))
def test_network_metrics_equal_the_networkx_whole_graph_implementation(seed):
    ids, links = random_network(seed)
    new, old = network_metrics(ids, links), oracle_network.network_metrics(ids, links)
    pd.testing.assert_frame_equal(new, old, check_exact=True)


@pytest.mark.parametrize("seed", range(10))
def test_betweenness_per_component_is_networkx_bit_for_bit(seed):
    ids, links = random_network(1000 + seed)
    g = build_graph(ids, links)
    assert betweenness(g, list(nx.connected_components(g))) == nx.betweenness_centrality(g, normalized=True)


def test_one_big_component_with_many_shortest_paths():
    g = nx.grid_2d_graph(9, 9)                     # every interior pair has many equal shortest paths
    name = {v: f"P{i:03d}" for i, v in enumerate(sorted(g))}
    links = pd.DataFrame([{"partner_a": name[a], "partner_b": name[b], "link_type": "joint_activity", "weight": 1}
                          for a, b in g.edges()])
    ids = list(name.values()) + ["P900", "P901"]     # and two isolated partners
    pd.testing.assert_frame_equal(network_metrics(ids, links), oracle_network.network_metrics(ids, links),
                                  check_exact=True)


# ------------------------------------------------------------------------------------------ peer matches
TYPES = ["municipality", "sao", "business"]
REGIONS = ["north", "south", "east", None, ""]
PROVINCES = {"north": ["TH-50", "TH-51"], "south": ["TH-90", "TH-91"], "east": ["TH-20"], None: [None], "": [""]}
ELEMENTS = list(oracle_peers.ELEMENT_LABELS) + ["something_new"]
METHODS = ["T-VER", "LESS", "energy", "waste", "transport"]


def random_partners(seed: int) -> pd.DataFrame:
    rnd = random.Random(seed)
    rows = []
    n = rnd.choice([0, 1, 5, 30, 150, 400])
    for i in range(n):
        region = rnd.choice(REGIONS)
        baseline = rnd.choice([None, float("nan"), 0.0, -5.0, 1.0, 10_000.0, 30_000.0, 3_333.3333333333335,
                               float(rnd.randint(1, 9) * 1000), round(rnd.lognormvariate(8, 2), rnd.choice([0, 2, 6]))])
        rows.append({
            "partner_id": f"P{rnd.randrange(100_000):06d}" if rnd.random() < 0.9 else f"X{i}",
            "name_th": f"ภาคี {i}", "name_en": f"Partner {i}", "partner_type": rnd.choice(TYPES),
            "track_status": rnd.choice(["on_track", "on_track", "off_track", "no_data", None]),
            "baseline_tco2e": baseline, "region": region, "province_code": rnd.choice(PROVINCES[region]),
            "ace_elements": rnd.choice([None, float("nan"), "", " , "]) if rnd.random() < 0.3 else
            ", ".join(rnd.sample(ELEMENTS, rnd.randint(1, 3))),
            "methods": None if rnd.random() < 0.3 else ", ".join(rnd.sample(METHODS, rnd.randint(1, 3))),
            "has_case": rnd.random() < 0.5,
            "partner_type_th": "ประเภท", "partner_type_en": None if rnd.random() < 0.2 else "Type",
            "province_th": "จังหวัด", "province_en": "Province", "region_th": None, "region_en": "Region"})
    frame = pd.DataFrame(rows, columns=["partner_id", "name_th", "name_en", "partner_type", "track_status",
                                        "baseline_tco2e", "region", "province_code", "ace_elements", "methods",
                                        "has_case", "partner_type_th", "partner_type_en", "province_th",
                                        "province_en", "region_th", "region_en"])
    return frame.drop_duplicates("partner_id").reset_index(drop=True)


@pytest.mark.parametrize("seed", range(40))
def test_peer_matches_equal_the_pairwise_implementation(seed):
    partners = random_partners(seed)
    new, old = match_peers(partners), oracle_peers.match_peers(partners)
    assert len(old) or len(partners) < 30        # the generator does make matches
    pd.testing.assert_frame_equal(new, old, check_exact=True)


def test_peer_ties_on_size_closeness_go_to_the_lower_partner_id():
    # many candidates with the same score and exactly the same baseline: rank by partner id
    rows = [{"partner_id": f"P{i:03d}", "name_th": "ก", "name_en": "a", "partner_type": "sao",
             "track_status": "on_track", "baseline_tco2e": 1000.0 if i % 2 else 2000.0, "region": "north",
             "province_code": "TH-50", "ace_elements": "training", "methods": "LESS", "has_case": True}
            for i in range(60, 0, -1)]
    partners = pd.DataFrame(rows)
    pd.testing.assert_frame_equal(match_peers(partners), oracle_peers.match_peers(partners), check_exact=True)


@pytest.mark.parametrize("top", [2, 3, 8])
def test_peer_matches_equal_the_pairwise_implementation_for_other_numbers_of_matches(monkeypatch, top):
    # the candidates' boundary is found by score level (five rules of a point each), whatever MAX_MATCHES is
    from phakhi.linking import peers

    monkeypatch.setattr(peers, "MAX_MATCHES", top)
    monkeypatch.setattr(oracle_peers, "MAX_MATCHES", top)
    for seed in (3, 7, 11, 19):
        partners = random_partners(seed)
        pd.testing.assert_frame_equal(match_peers(partners), oracle_peers.match_peers(partners), check_exact=True)
