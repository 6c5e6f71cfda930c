"""TEST ORACLE: the implementation before issue 17 (kept verbatim; tests compare the package with it).

Collaboration network metrics per partner, computed with networkx.

Nodes: every current partner (so partners with no link appear, isolated). Edges: mart_partner_links, one
undirected edge per partner pair whose weight is the sum of the pair's link weights over all link types
(joint activities + shared credentials + parent/child). Per partner:
  degree                 partners it is linked with
  weighted_degree        sum of its edge weights (how many joint activities / shared credentials / family ties)
  degree_centrality      degree / (nodes - 1)                           (networkx.degree_centrality)
  betweenness            share of shortest paths between other partners that pass through it, normalised
                         (networkx.betweenness_centrality, unweighted: a link is a link)
  clustering             share of its partners' pairs that are linked themselves (networkx.clustering)
  component_id/size      its connected component, numbered 1.. by size (largest first), then lowest partner id
  community_id           its community (networkx greedy modularity on the weighted graph), numbered like
                         components; isolated partners get their own one-member community
  is_isolated            no link at all
"""
from __future__ import annotations

import networkx as nx
import pandas as pd

COLUMNS = ["partner_id", "degree", "weighted_degree", "degree_centrality", "betweenness", "clustering",
           "component_id", "component_size", "community_id", "community_size", "is_isolated",
           "joint_activity_links", "shared_credential_links", "parent_child_links"]


def build_graph(partner_ids, links: pd.DataFrame) -> nx.Graph:
    """links: partner_a, partner_b, link_type, weight (one row per pair and type)."""
    g = nx.Graph()
    g.add_nodes_from(sorted(str(p) for p in partner_ids))
    for r in links.sort_values(["partner_a", "partner_b", "link_type"]).to_dict("records"):
        a, b = str(r["partner_a"]), str(r["partner_b"])
        if a == b or a not in g or b not in g:
            continue
        w = float(r.get("weight") or 1)
        if g.has_edge(a, b):
            g[a][b]["weight"] += w
        else:
            g.add_edge(a, b, weight=w)
        g[a][b].setdefault("types", set()).add(r["link_type"])
    return g


def _numbered(groups) -> dict[str, tuple[int, int]]:
    """node -> (group number, group size); groups numbered by size (largest first), then lowest member."""
    ordered = sorted((sorted(grp) for grp in groups), key=lambda m: (-len(m), m[0]))
    return {n: (i, len(m)) for i, m in enumerate(ordered, start=1) for n in m}


def network_metrics(partner_ids, links: pd.DataFrame) -> pd.DataFrame:
    g = build_graph(partner_ids, links)
    if g.number_of_nodes() == 0:
        return pd.DataFrame(columns=COLUMNS)
    deg_c = nx.degree_centrality(g) if g.number_of_nodes() > 1 else {n: 0.0 for n in g}
    between = nx.betweenness_centrality(g, normalized=True)
    clustering = nx.clustering(g)
    components = _numbered(nx.connected_components(g))
    linked = g.subgraph([n for n in g if g.degree(n) > 0])
    groups = list(nx.community.greedy_modularity_communities(linked, weight="weight")) if linked.number_of_edges() else []
    groups += [{n} for n in g if g.degree(n) == 0]
    communities = _numbered(groups)
    per_type = {t: {n: 0 for n in g} for t in ("joint_activity", "shared_credential", "parent_child")}
    for a, b, data in g.edges(data=True):
        for t in data.get("types", ()):
            if t in per_type:
                per_type[t][a] += 1
                per_type[t][b] += 1
    rows = [{"partner_id": n, "degree": int(g.degree(n)), "weighted_degree": float(g.degree(n, weight="weight")),
             "degree_centrality": float(deg_c[n]), "betweenness": float(between[n]), "clustering": float(clustering[n]),
             "component_id": components[n][0], "component_size": components[n][1],
             "community_id": communities[n][0], "community_size": communities[n][1], "is_isolated": g.degree(n) == 0,
             "joint_activity_links": per_type["joint_activity"][n],
             "shared_credential_links": per_type["shared_credential"][n],
             "parent_child_links": per_type["parent_child"][n]}
            for n in sorted(g)]
    return pd.DataFrame(rows, columns=COLUMNS)
