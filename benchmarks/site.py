"""The published site's weight and speed: page sizes, publication size, what a new publication adds on disk,
and how fast the long list pages become interactive in Chromium. Prints figures; asserts nothing.

    # after a refresh of a national-shaped home (benchmarks/refresh.py), publish again from its warehouse
    # (the publish stage only, timed) and measure the publication it makes:
    .venv/bin/python benchmarks/site.py --home /tmp/phakhi-nat10 --publish
    # measure the latest publication as it is (no publish):
    .venv/bin/python benchmarks/site.py --home /tmp/phakhi-nat10
    # scale the per-partner figures to 8,000 partners (labelled as extrapolations):
    .venv/bin/python benchmarks/site.py --home /tmp/phakhi-nat10 --extrapolate-to 8000

"bytes added" = the bytes of the latest publication's files that no other publication shares (inodes seen
only in it): what keeping this publication costs on disk once unchanged files are hard-linked
(phakhi/publish/files.py:share_unchanged_files).

Time to interactive: the page is served over HTTP by phakhi.publish.serve (the site's own CSP) and opened in
Debian's Chromium (never `playwright install`); "ready" is the time from navigation start to the moment
assets/site.js has attached every handler and loaded the list's search index (it stamps
<html data-ready="ms">); "search" is how long one search over the whole list takes.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
MB = 2 ** 20


def last_gate(paths):
    """The gate result of the home's last refresh (runs/<run>/gate.json), as the publish stage receives it."""
    from phakhi.quality.gate import Check, GateResult

    found = sorted(paths.runs.glob("*/gate.json"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise SystemExit(f"no gate.json under {paths.runs}: run a refresh first (benchmarks/refresh.py)")
    doc = json.loads(found[-1].read_text(encoding="utf-8"))
    checks = [Check(**{k: v for k, v in c.items() if k in Check.__dataclass_fields__}) for c in doc.get("checks", [])]
    docs = found[-1].parent / "data_docs"
    return GateResult(checks=checks, dbt=doc.get("dbt") or {}, data_docs=docs if docs.is_dir() else None)


def publish_only(paths, period: str | None) -> dict:
    """The refresh's publish stage alone (phakhi.publish.warehouse.publish_switching, sharing included),
    against the home's build warehouse; timed like the flow's stages (wall, CPU and peak RSS of the tree)."""
    from phakhi.publish.warehouse import publish_switching
    from phakhi.timing import stage_timer
    from phakhi.transform import _last_build_period

    period = period or _last_build_period(paths)
    run_id = "rbench" + time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    with stage_timer("publish", log_to=paths.runs / "site-bench.jsonl") as t:
        pub = publish_switching(paths, period, run_id, last_gate(paths), None)
    r = t["result"]
    return {"publication": pub.name, "wall_s": r.wall_s, "cpu_s": r.cpu_s, "peak_rss_mb": r.peak_rss_mb}


def sizes(pub: Path) -> dict:
    files = [p for p in pub.rglob("*") if p.is_file() and not p.is_symlink()]
    pages = [(p.stat().st_size, p.relative_to(pub).as_posix()) for p in files if p.suffix == ".html"
             and not p.relative_to(pub).as_posix().startswith(("docs/", "quality/data_docs/", "drift/"))]
    partner = [x for x in pages if x[1].startswith("partners/")]
    lists = {p.name: p.stat().st_size for p in (pub / "lists").glob("*.js")} if (pub / "lists").is_dir() else {}
    by_folder: dict[str, int] = {}
    for p in files:
        rel = p.relative_to(pub).parts
        key = rel[0] if len(rel) > 1 else "(top)"
        if rel[:2] == ("data", "partners"):
            key = "data/partners"
        by_folder[key] = by_folder.get(key, 0) + p.stat().st_size
    top = sorted(pages, reverse=True)
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files),
            "largest_page": top[0] if top else None, "largest_site_pages": top[:6],
            "largest_partner_page": max(partner) if partner else None, "partner_pages": len(partner),
            "partner_pages_bytes": sum(s for s, _ in partner), "list_indexes": lists, "by_folder": by_folder,
            "any_file_over_2mb": sorted(((p.stat().st_size, p.relative_to(pub).as_posix()) for p in files
                                        if p.stat().st_size > 2 * MB), reverse=True)[:8]}


def added_bytes(publications: Path, pub: Path) -> dict:
    """Bytes of `pub` whose inodes no other publication holds (the .objects store is not a publication)."""
    others: set = set()
    for p in publications.iterdir():
        if p.is_dir() and not p.is_symlink() and not p.name.startswith(".") and p != pub:
            for f in p.rglob("*"):
                if f.is_file() and not f.is_symlink():
                    st = f.stat()
                    others.add((st.st_dev, st.st_ino))
    own, shared, n_shared, seen = 0, 0, 0, set()
    for f in pub.rglob("*"):
        if f.is_file() and not f.is_symlink():
            st = f.stat()
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            if key in others:
                shared += st.st_size
                n_shared += 1
            else:
                own += st.st_size
    return {"added_bytes": own, "shared_bytes": shared, "shared_files": n_shared,
            "other_publications": sum(1 for p in publications.iterdir() if p.is_dir() and not p.is_symlink()
                                      and not p.name.startswith(".") and p != pub)}


def time_to_interactive(pub: Path, names=("partners", "practices", "network", "index"), repeat: int = 3) -> dict:
    if not Path(CHROMIUM).exists():
        return {"skipped": "no /usr/bin/chromium"}
    from playwright.sync_api import sync_playwright

    from phakhi.publish.serve import make_server

    server = make_server(pub, port=0, verbose=False)
    server.handle_error = lambda *a: None          # the browser closing a connection early is not news
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    out = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for name in names:
                runs = []
                for _ in range(repeat):
                    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
                    page = ctx.new_page()
                    page.goto(f"{base}/{name}.html?lang=th", wait_until="commit")
                    page.wait_for_function("() => document.documentElement.dataset.ready", timeout=60000)
                    page.wait_for_load_state("load")
                    nav = page.evaluate("() => { const n = performance.getEntriesByType('navigation')[0];"
                                        " return {dom: n.domInteractive, load: n.loadEventEnd}; }")
                    ready = float(page.evaluate("() => document.documentElement.dataset.ready"))
                    search = page.evaluate("""() => { const i = document.querySelector('input.search');
                        if (!i) return null; const t = performance.now(); i.value = 'ก'; 
                        i.dispatchEvent(new Event('input', {bubbles: true})); const d = performance.now() - t;
                        i.value = ''; i.dispatchEvent(new Event('input', {bubbles: true})); return d; }""")
                    runs.append({"ready_ms": ready, "dom_interactive_ms": nav["dom"], "load_ms": nav["load"],
                                 "search_ms": search})
                    ctx.close()
                for r in runs:       # interactive: site.js has run AND the document is parsed
                    r["interactive_ms"] = max(r["ready_ms"], r["dom_interactive_ms"])
                mid = sorted(runs, key=lambda r: r["interactive_ms"])[len(runs) // 2]
                out[name] = {**{k: round(v, 1) if v is not None else None for k, v in mid.items()},
                             "interactive_ms_all": [round(r["interactive_ms"]) for r in runs]}
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return out


def inflated_copy(pub: Path, n: int) -> Path:
    """A copy of the publication's list pages whose list indexes hold every row n times (ids suffixed): what
    the lists weigh and how they behave at n times the partners. Synthetic: for timing only."""
    import shutil
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="phakhi-inflated-")) / pub.name
    shutil.copytree(pub, out, ignore=shutil.ignore_patterns("partners", "data", "docs", "quality", "drift"))
    for js in (out / "lists").glob("*.js"):
        head, _, body = js.read_text(encoding="utf-8").partition("=")
        head2, _, body = body.partition("=")          # (window.PhakhiLists=window.PhakhiLists||{})["x"]=
        index = json.loads(body.rstrip().rstrip(";"))
        cols = index["cols"]
        rows = []
        for k in range(n):
            for r in index["rows"]:
                r = list(r)
                for c in ("partner_id", "slug"):
                    if c in cols and isinstance(r[cols.index(c)], str) and k:
                        r[cols.index(c)] += f"x{k}"
                rows.append(r)
        index["rows"] = rows
        js.write_text(head + "=" + head2 + "=" + json.dumps(index, ensure_ascii=False, separators=(",", ":")) + ";\n",
                      encoding="utf-8")
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", required=True, type=Path)
    ap.add_argument("--publish", action="store_true", help="publish again from the home's build warehouse (timed)")
    ap.add_argument("--period", help="YYYY-MM (default: the period of the last dbt build)")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--extrapolate-to", type=int, default=8000, help="partners to scale per-partner figures to")
    ap.add_argument("--inflate", type=int, default=1,
                    help="also time the list pages with every list index repeated N times (synthetic rows, e.g. 10 "
                         "at scale 0.1 = national-sized indexes), on a copy of the publication")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    from phakhi.settings import use_home

    paths = use_home(args.home)
    out: dict = {"home": str(paths.home), "load_average": os.getloadavg()}
    if args.publish:
        out["publish"] = publish_only(paths, args.period)
        print(f"publish stage: wall {out['publish']['wall_s']:.1f} s, CPU {out['publish']['cpu_s']:.1f} s, "
              f"peak RSS {out['publish']['peak_rss_mb']:.0f} MB -> {out['publish']['publication']}")
    pub = (paths.publications / "latest").resolve()
    out["publication"] = pub.name
    out["sizes"] = s = sizes(pub)
    out["disk"] = d = added_bytes(paths.publications, pub)
    print(f"publication {pub.name}: {s['files']} files, {s['bytes'] / MB:.1f} MB "
          f"({s['partner_pages']} partner pages, {s['partner_pages_bytes'] / MB:.1f} MB)")
    print("  by folder (MB): " + ", ".join(f"{k} {v / MB:.1f}" for k, v in sorted(s["by_folder"].items(), key=lambda kv: -kv[1])))
    print(f"  largest page: {s['largest_page'][1]} {s['largest_page'][0] / 1024:.0f} KB; largest partner page: "
          f"{s['largest_partner_page'][1] if s['largest_partner_page'] else '-'} "
          f"{(s['largest_partner_page'] or (0,))[0] / 1024:.0f} KB")
    print("  largest site pages (KB): " + ", ".join(f"{n} {b / 1024:.0f}" for b, n in s["largest_site_pages"]))
    print("  list indexes (KB): " + ", ".join(f"{n} {b / 1024:.0f}" for n, b in s["list_indexes"].items()))
    print("  files over 2 MB: " + (", ".join(f"{n} {b / MB:.1f} MB" for b, n in s["any_file_over_2mb"]) or "none"))
    print(f"  on disk: {d['added_bytes'] / MB:.1f} MB added by this publication, {d['shared_bytes'] / MB:.1f} MB "
          f"({d['shared_files']} files) shared with {d['other_publications']} other publication(s)")
    if not args.no_browser:
        runs = [("tti", pub, "")]
        if args.inflate > 1:
            runs.append(("tti_inflated", inflated_copy(pub, args.inflate),
                         f" (list indexes x{args.inflate}: SYNTHETIC rows, national-sized)"))
        for key, folder, label in runs:
            out[key] = tti = time_to_interactive(folder)
            if key == "tti_inflated":
                out["inflated_list_indexes"] = {p.name: p.stat().st_size for p in (folder / "lists").glob("*.js")}
                print("  inflated list indexes (KB): " + ", ".join(f"{n} {b / 1024:.0f}" for n, b in out["inflated_list_indexes"].items()))
            for name, r in tti.items():
                if isinstance(r, dict):
                    print(f"  {name}.html in Chromium{label}: interactive {r['interactive_ms']:.0f} ms (median; "
                          f"runs {r['interactive_ms_all']}), load event {r['load_ms']:.0f} ms, one search over the "
                          f"whole list {r['search_ms'] if r['search_ms'] is not None else '-'} ms")
    n = s["partner_pages"] or 1
    k = args.extrapolate_to / n
    out["extrapolated"] = e = {
        "partners": args.extrapolate_to, "factor": round(k, 2),
        "partner_pages_mb": s["partner_pages_bytes"] * k / MB,
        "publication_mb_linear": s["bytes"] * k / MB,
        "added_mb_linear": d["added_bytes"] * k / MB,
        "list_indexes_kb": {name: b * k / 1024 for name, b in s["list_indexes"].items()}}
    print(f"EXTRAPOLATED (linear in partners, x{k:.1f} to {args.extrapolate_to:,} partners; not measured): "
          f"publication ~{e['publication_mb_linear']:.0f} MB, partner pages ~{e['partner_pages_mb']:.0f} MB, "
          f"added by a publication ~{e['added_mb_linear']:.0f} MB, list indexes "
          + ", ".join(f"{nm} ~{kb:.0f} KB" for nm, kb in e["list_indexes_kb"].items()))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str), encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
