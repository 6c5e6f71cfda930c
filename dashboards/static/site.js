/* Phakhi dashboard behaviour: language switch (remembered), charts, table sort/search/filter, tile map.
   No network access: everything this file needs is in the page or beside it. */
(function () {
  "use strict";
  var KEY = "phakhi.lang";
  var html = document.documentElement;
  var specs = {};

  function lang() { return html.getAttribute("data-lang") === "en" ? "en" : "th"; }

  function save(l) { try { localStorage.setItem(KEY, l); } catch (e) { /* storage may be off for file:// */ } }

  /* A chart spec's text leaves may be {"th": …, "en": …}: keep the reader's language. */
  function loc(v, l) {
    if (Array.isArray(v)) { return v.map(function (x) { return loc(x, l); }); }
    if (v && typeof v === "object") {
      var keys = Object.keys(v);
      if (keys.length === 2 && "th" in v && "en" in v) { return v[l]; }
      var out = {};
      keys.forEach(function (k) { out[k] = loc(v[k], l); });
      return out;
    }
    return v;
  }

  function renderCharts() {
    if (!window.Plotly) { return; }
    var l = lang();
    document.querySelectorAll("[data-chart]").forEach(function (div) {
      if (!specs[div.id]) {
        var src = document.getElementById(div.id + "-spec");
        if (!src) { return; }
        specs[div.id] = JSON.parse(src.textContent);
      }
      var s = loc(specs[div.id], l);
      s.layout.font = Object.assign({ family: "Sarabun, 'Noto Sans Thai', Loma, sans-serif", size: 13, color: "#1f2937" },
                                    s.layout.font || {});
      s.layout.autosize = true;
      Plotly.react(div, s.data, s.layout, { displaylogo: false, responsive: true,
        modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"] });
    });
  }

  function applyLang(l) {
    html.setAttribute("data-lang", l);
    html.lang = l;
    document.querySelectorAll("option[data-th]").forEach(function (o) { o.textContent = o.getAttribute("data-" + l); });
    document.querySelectorAll("[data-ph-th]").forEach(function (e) {
      e.placeholder = e.getAttribute("data-ph-" + l);
      e.setAttribute("aria-label", e.getAttribute("data-ph-" + l));
    });
    renderCharts();
  }

  /* ---- language toggle; the choice travels to other pages via localStorage and ?lang= on links ---- */
  var toggle = document.getElementById("lang-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var l = lang() === "th" ? "en" : "th";
      save(l);
      applyLang(l);
      try { history.replaceState(null, "", location.pathname + "?lang=" + l + location.hash); } catch (e) { /* file:// */ }
    });
  }
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("a[href]");
    if (!a) { return; }
    var href = a.getAttribute("href");
    if (!href || /^([a-z]+:|\/\/|#)/i.test(href) || !/\.html($|[?#])/.test(href)) { return; }
    var parts = href.split("#");
    var base = parts[0].replace(/([?&])lang=(th|en)&?/, "$1").replace(/[?&]$/, "");
    a.setAttribute("href", base + (base.indexOf("?") >= 0 ? "&" : "?") + "lang=" + lang() + (parts[1] ? "#" + parts[1] : ""));
  }, true);


  /* ---- long lists (partners, practices): the page holds one page of rows; the whole list is a compact
     search index in lists/<name>.js (window.PhakhiLists). Search, filters, sorting and paging run over the
     index; rows are built as DOM nodes with textContent (partner text never becomes markup). ---- */
  var lists = {};                       /* filter target id -> list state */
  var FIELD = { type: "partner_type", peer: "peer_group", sectors: "sector_codes" };
  var UI = { featured: ["กรณีเด่น", "Featured"], criteria: ["ผ่านเกณฑ์ทุกข้อ", "Meets every criterion"],
             reduced: ["ลดได้ 12 เดือน", "Reduced, 12 months"], acts: ["กิจกรรม ACE", "ACE activities"],
             full: ["อ่านกรณีเต็ม →", "Read the full case →"] };

  function node(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (attrs[k] !== null && attrs[k] !== undefined) { e.setAttribute(k, attrs[k]); } });
    (kids || []).forEach(function (k) { e.appendChild(typeof k === "string" ? document.createTextNode(k) : k); });
    return e;
  }
  function bi(pair) {
    var f = document.createDocumentFragment();
    pair = pair || ["–", "–"];
    f.appendChild(node("span", { lang: "th" }, [String(pair[0] === null ? "" : pair[0])]));
    f.appendChild(node("span", { lang: "en" }, [String(pair[1] === null ? "" : pair[1])]));
    return f;
  }
  function fmt(v, d) {
    if (v === null || v === undefined || isNaN(v)) { return "–"; }
    return Number(v).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
  }
  function pct(v) { return (v === null || v === undefined || isNaN(v)) ? "–" : fmt(v * 100, 0) + "%"; }
  function label(st, kind, code) {
    if (code === null || code === undefined) { return ["–", "–"]; }
    var m = st.labels[kind] || {};
    return m[String(code)] || [String(code), String(code)];
  }
  function num(v) { return v === null || v === undefined || isNaN(v) ? -Infinity : Number(v); }

  function haystack(st, r) {
    var t = label(st, "partner_type", r.partner_type), p = label(st, "province", r.province_code);
    return [r.partner_id, r.name_th, r.name_en, p[0], p[1], r.province_code, t[0], t[1], r.search || ""].join(" ").toLowerCase();
  }

  function partnerRow(st, r) {
    var cell = function (v, text) { return node("td", { "class": "n", "data-v": v === null ? "" : v }, [text]); };
    var link = node("a", { href: "partners/" + (r.slug || r.partner_id) + ".html" }, [bi([r.name_th || r.partner_id, r.name_en || r.partner_id])]);
    var sub = node("div", { "class": "sub" }, [bi(label(st, "partner_type", r.partner_type)), " · ", bi(label(st, "province", r.province_code))]);
    var order = { on_track: 0, off_track: 1 }[r.status];
    return node("tr", { "data-item": "", "data-partner": r.partner_id, "data-status": r.status, "data-type": r.partner_type,
                        "data-peer": r.peer_group }, [
      node("td", {}, [String(r.partner_id)]), node("td", { "class": "wrap" }, [link, sub]),
      cell(r.pledged_reduction_tco2e, fmt(r.pledged_reduction_tco2e, 1)), cell(r.required_path_tco2e, fmt(r.required_path_tco2e, 1)),
      cell(r.reductions_12m_tco2e, fmt(r.reductions_12m_tco2e, 1)), cell(r.pct_path, pct(r.pct_path)),
      cell(r.reporting_completeness, pct(r.reporting_completeness)), cell(r.peer_percentile, pct(r.peer_percentile)),
      node("td", { "data-v": order === undefined ? 2 : order }, [
        node("span", { "class": "light light-" + r.light, role: "img", "aria-label": r.light }), " ",
        node("span", { "class": "status st-" + r.status }, [bi(label(st, "status", r.status))])])]);
  }

  function networkRow(st, r) {
    var cell = function (v, d) { return node("td", { "class": "n", "data-v": v === null ? "" : v }, [fmt(v, d)]); };
    var id = r.partner_id;
    return node("tr", { "data-item": "" }, [
      node("td", {}, [node("a", { href: "partners/" + (r.slug || id) + ".html" }, [bi([r.name_th || id, r.name_en || id])]), " ",
                      node("small", {}, [String(id)])]),
      node("td", {}, [bi(label(st, "partner_type", r.partner_type))]),
      cell(r.degree, 0), cell(r.weighted_degree, 0), cell(r.betweenness, 3), cell(r.clustering, 2),
      node("td", { "class": "n", "data-v": r.is_isolated ? "" : r.community_id }, [r.is_isolated ? "–" : String(r.community_id)]),
      cell(r.joint_activity_links, 0), cell(r.shared_credential_links, 0), cell(r.parent_child_links, 0)]);
  }

  function caseCard(st, r) {
    var slug = r.slug || r.partner_id, badges = [];
    if (r.featured === "yes") { badges.push(node("span", { "class": "badge" }, ["★ ", bi(UI.featured)])); }
    if (r.criteria === "yes") { badges.push(node("span", { "class": "badge badge-ok" }, ["✓ ", bi(UI.criteria)])); }
    var pages = st.labels.pages || ["practices.html"];
    return node("article", { "class": "case result" + (r.featured === "yes" ? " featured" : ""), "data-item": "",
                             "data-case": slug, "data-type": r.partner_type, "data-featured": r.featured,
                             "data-criteria": r.criteria, "data-sectors": r.sector_codes }, [
      node("header", {}, badges.concat([
        node("h2", {}, [node("a", { href: "partners/" + slug + ".html" }, [bi([r.name_th || r.partner_id, r.name_en || r.partner_id])])]),
        node("p", { "class": "small" }, [bi(label(st, "partner_type", r.partner_type)), " · ", bi(label(st, "province", r.province_code)),
                                         " · ", bi(label(st, "status", r.track_status || "no_data"))])])),
      node("p", {}, [bi(UI.reduced), ": " + fmt(r.counted_12m_tco2e, 1) + " tCO2e · ", bi(UI.acts), ": " + fmt(r.activities_12m, 0)]),
      node("p", {}, [node("a", { href: (pages[(r.page || 1) - 1] || "practices.html") + "#case-" + slug }, [bi(UI.full)])])]);
  }

  function setupLists() {
    var store = window.PhakhiLists || {};
    document.querySelectorAll("[data-list]").forEach(function (el) {
      var name = el.getAttribute("data-list"), idx = store[name];
      if (!idx || !el.id) { return; }
      var target = document.querySelector('[data-results="' + el.id + '"]') || el;
      var st = { name: name, el: el, target: target, labels: idx.labels || {}, page: 0, sort: null, asc: true,
                 size: parseInt(el.getAttribute("data-page-size"), 10) || 50 };
      st.rows = idx.rows.map(function (a) { var o = {}; idx.cols.forEach(function (c, i) { o[c] = a[i]; }); return o; });
      st.rows.forEach(function (r) { r._hay = haystack(st, r); });
      st.shown = st.rows;
      lists[target.id] = st;
      document.querySelectorAll('[data-pager-for="' + target.id + '"] [data-page]').forEach(function (b) {
        b.addEventListener("click", function () {
          var pages = Math.max(1, Math.ceil(st.shown.length / st.size));
          st.page = Math.min(pages - 1, Math.max(0, st.page + (b.getAttribute("data-page") === "next" ? 1 : -1)));
          renderList(st);
          (st.el.closest("section") || st.el).scrollIntoView({ block: "start" });
        });
      });
    });
  }

  function sortKey(st, r) {
    var c = st.sort;
    if (c === "name") { return String(lang() === "en" ? (r.name_en || r.partner_id) : (r.name_th || r.partner_id)).toLowerCase(); }
    if (c === "status_order") { var o = { on_track: 0, off_track: 1 }[r.status]; return o === undefined ? 2 : o; }
    if (c === "community") { return r.is_isolated ? null : r.community_id; }
    if (c === "partner_type") { return label(st, "partner_type", r.partner_type)[lang() === "en" ? 1 : 0]; }
    return r[c];
  }

  /* a list's long searchable text (practices: lessons) is a separate file, loaded on the first search */
  function loadText(st) {
    if (st.textState) { return; }
    st.textState = "loading";
    var name = st.name + "-text";
    var add = function () {
      var t = (window.PhakhiLists || {})[name];
      if (!t) { return; }
      st.rows.forEach(function (r, i) { r._hay += " " + String((t.rows[i] || [""])[0] || "").toLowerCase(); });
      st.textState = "loaded";
      filterList(st);
    };
    if ((window.PhakhiLists || {})[name]) { add(); return; }
    var sc = document.createElement("script");
    sc.src = (document.body.getAttribute("data-root") || "") + "lists/" + name + ".js";
    sc.onload = add;
    sc.onerror = function () { st.textState = "missing"; };
    document.body.appendChild(sc);
  }

  function filterList(st) {
    var controls = document.querySelectorAll('[data-filter="' + st.target.id + '"]');
    if (st.name === "practices" && !st.textState) {
      controls.forEach(function (c) { if (c.getAttribute("data-key") === "search" && c.value.trim()) { loadText(st); } });
    }
    var active = false;
    st.shown = st.rows.filter(function (r) {
      var ok = true;
      controls.forEach(function (c) {
        var v = (c.type === "checkbox" ? (c.checked ? c.value : "") : (c.value || "")).trim().toLowerCase();
        if (!v) { return; }
        active = true;
        var key = c.getAttribute("data-key");
        if (key === "search") {
          ok = ok && v.split(/\s+/).every(function (w) { return r._hay.indexOf(w) >= 0; });
        } else {
          ok = ok && (" " + String(r[FIELD[key] || key] === null ? "" : r[FIELD[key] || key]).toLowerCase() + " ").indexOf(" " + v + " ") >= 0;
        }
      });
      return ok;
    });
    if (st.sort) {
      var kind = st.sortKind;
      st.shown = st.shown.slice().sort(function (a, b) {
        var x = sortKey(st, a), y = sortKey(st, b);
        var c = kind === "num" ? num(x) - num(y) : String(x === null ? "" : x).localeCompare(String(y === null ? "" : y), lang());
        return st.asc ? c : -c;
      });
    }
    st.active = active || !!st.sort;
    st.page = 0;
    renderList(st);
  }

  function renderList(st) {
    var id = st.target.id, n = st.shown.length, pages = Math.max(1, Math.ceil(n / st.size));
    var part = st.shown.slice(st.page * st.size, (st.page + 1) * st.size);
    if (st.el.tBodies && st.el.tBodies.length) {       /* a table: partners, network */
      var body = st.el.tBodies[0], frag = document.createDocumentFragment();
      part.forEach(function (r) { frag.appendChild((st.name === "network" ? networkRow : partnerRow)(st, r)); });
      body.replaceChildren(frag);
    } else {
      /* practices: the static page shows full cases; a search or filter shows results from the whole list */
      var frag2 = document.createDocumentFragment();
      if (st.active) { part.forEach(function (r) { frag2.appendChild(caseCard(st, r)); }); }
      st.el.replaceChildren(frag2);
      st.el.hidden = !st.active;
      st.target.hidden = st.active;
      document.querySelectorAll(".static-pager").forEach(function (e) { e.hidden = st.active; });
    }
    document.querySelectorAll('[data-count-for="' + id + '"]').forEach(function (e) { e.textContent = n; });
    document.querySelectorAll('[data-empty-for="' + id + '"]').forEach(function (e) { e.hidden = n > 0; });
    document.querySelectorAll('[data-pager-for="' + id + '"]').forEach(function (nav) {
      nav.hidden = pages <= 1 || (!st.el.tBodies && !st.active);
      nav.querySelector("[data-page-now]").textContent = st.page + 1;
      nav.querySelector("[data-page-count]").textContent = pages;
      nav.querySelector('[data-page="prev"]').disabled = st.page === 0;
      nav.querySelector('[data-page="next"]').disabled = st.page >= pages - 1;
    });
  }
  setupLists();

  /* ---- sortable tables ---- */
  function cellValue(td, kind) {
    if (!td) { return kind === "num" ? -Infinity : ""; }
    var v = td.getAttribute("data-v");
    if (kind === "num") {
      var x = parseFloat(v === null ? td.textContent.replace(/[^0-9.\-]/g, "") : v);
      return isNaN(x) ? -Infinity : x;
    }
    if (v !== null && v !== "") { return v; }
    var shown = td.querySelector('[lang="' + lang() + '"]');
    return (shown ? shown.textContent : td.textContent).trim().toLowerCase();
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, idx) {
      var kind = th.getAttribute("data-sort");
      if (!kind) { return; }
      var btn = th.querySelector("button") || th;
      btn.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var st = lists[table.id];
        if (st && th.getAttribute("data-col")) {          /* a long list: sort the whole index, show page 1 */
          st.sort = th.getAttribute("data-col");
          st.sortKind = kind;
          st.asc = asc;
          filterList(st);
          return;
        }
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a.cells[idx], kind), y = cellValue(b.cells[idx], kind);
          var c = kind === "num" ? x - y : String(x).localeCompare(String(y), lang());
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });

  /* ---- search and filters: controls [data-filter=<target id>][data-key=…] over items [data-item] ---- */
  function applyFilters(targetId) {
    if (lists[targetId]) { filterList(lists[targetId]); return; }
    var target = document.getElementById(targetId);
    if (!target) { return; }
    var controls = document.querySelectorAll('[data-filter="' + targetId + '"]');
    var shown = 0;
    target.querySelectorAll("[data-item]").forEach(function (item) {
      var ok = true;
      controls.forEach(function (c) {
        var v = c.type === "checkbox" ? (c.checked ? c.value : "") : (c.value || "");
        v = v.trim().toLowerCase();
        if (!v) { return; }
        var key = c.getAttribute("data-key");
        if (key === "search") {
          var hay = (item.getAttribute("data-search") || item.textContent || "").toLowerCase();
          ok = ok && v.split(/\s+/).every(function (w) { return hay.indexOf(w) >= 0; });
        } else {
          var have = " " + (item.getAttribute("data-" + key) || "").toLowerCase() + " ";
          ok = ok && have.indexOf(" " + v + " ") >= 0;
        }
      });
      item.hidden = !ok;
      if (ok) { shown += 1; }
    });
    document.querySelectorAll('[data-count-for="' + targetId + '"]').forEach(function (e) { e.textContent = shown; });
    document.querySelectorAll('[data-empty-for="' + targetId + '"]').forEach(function (e) { e.hidden = shown > 0; });
  }
  var targets = {};
  document.querySelectorAll("[data-filter]").forEach(function (c) {
    var t = c.getAttribute("data-filter");
    targets[t] = true;
    c.addEventListener(c.tagName === "INPUT" && c.type !== "checkbox" ? "input" : "change", function () { applyFilters(t); });
  });
  /* a filter may come in the address: partners.html?status=off_track&q=… */
  var params = new URLSearchParams(location.search);
  Object.keys(targets).forEach(function (t) {
    document.querySelectorAll('[data-filter="' + t + '"]').forEach(function (c) {
      var key = c.getAttribute("data-key");
      var v = params.get(key === "search" ? "q" : key);
      if (v !== null && c.type !== "checkbox") { c.value = v; }
    });
    applyFilters(t);
  });

  /* ---- tile map colouring ---- */
  function mix(a, b, t) {
    var pa = [parseInt(a.slice(1, 3), 16), parseInt(a.slice(3, 5), 16), parseInt(a.slice(5, 7), 16)];
    var pb = [parseInt(b.slice(1, 3), 16), parseInt(b.slice(3, 5), 16), parseInt(b.slice(5, 7), 16)];
    return "rgb(" + pa.map(function (x, i) { return Math.round(x + (pb[i] - x) * t); }).join(",") + ")";
  }
  /* a signed measure (awareness change): red below 0, blue above, blank where the province has no value */
  function divergingTiles(tiles, metric, legendStatus, legendScale) {
    var max = 0;
    tiles.forEach(function (t) { var v = parseFloat(t.getAttribute("data-" + metric)); if (!isNaN(v)) { max = Math.max(max, Math.abs(v)); } });
    tiles.forEach(function (t) {
      var v = parseFloat(t.getAttribute("data-" + metric));
      if (isNaN(v)) { t.style.background = "#f3f4f6"; t.style.color = "#9ca3af"; return; }
      var f = max > 0 ? Math.abs(v) / max : 0;
      t.style.background = v >= 0 ? mix("#f8fafc", "#1d4ed8", f) : mix("#f8fafc", "#b91c1c", f);
      t.style.color = f > 0.55 ? "#ffffff" : "";
    });
    if (legendStatus) { legendStatus.hidden = true; }
    if (legendScale) { legendScale.hidden = true; }
    var m = document.querySelector("[data-diverging-max]");
    if (m) { m.textContent = "±" + max.toLocaleString("en-US", { maximumFractionDigits: 1 }); }
  }
  document.querySelectorAll("[data-tilemetric]").forEach(function (sel) {
    var map = document.getElementById(sel.getAttribute("data-tilemetric"));
    if (!map) { return; }
    sel.addEventListener("change", function () {
      var metric = sel.value;
      var tiles = map.querySelectorAll(".tile");
      var legendStatus = document.querySelector('[data-legend="status"]');
      var legendScale = document.querySelector('[data-legend="scale"]');
      var legendDiverging = document.querySelector('[data-legend="diverging"]');
      if (legendDiverging) { legendDiverging.hidden = metric !== "awareness_change"; }
      if (metric === "status") {
        tiles.forEach(function (t) { t.style.background = ""; t.style.color = ""; });
        if (legendStatus) { legendStatus.hidden = false; }
        if (legendScale) { legendScale.hidden = true; }
        return;
      }
      if (metric === "awareness_change") { divergingTiles(tiles, metric, legendStatus, legendScale); return; }
      var max = 0;
      tiles.forEach(function (t) { max = Math.max(max, parseFloat(t.getAttribute("data-" + metric)) || 0); });
      tiles.forEach(function (t) {
        var v = parseFloat(t.getAttribute("data-" + metric)) || 0;
        var f = max > 0 ? Math.sqrt(v / max) : 0;
        t.style.background = v > 0 ? mix("#eff6ff", "#1e3a8a", f) : "#ffffff";
        t.style.color = f > 0.55 ? "#ffffff" : "";
      });
      if (legendStatus) { legendStatus.hidden = true; }
      if (legendScale) {
        legendScale.hidden = false;
        var m = legendScale.querySelector("[data-scale-max]");
        if (m) { m.textContent = max.toLocaleString("en-US", { maximumFractionDigits: 0 }); }
      }
    });
  });

  /* plotly.js on pages whose charts sit below a long list (partners): loaded when a chart comes near the
     viewport, so the list is interactive without waiting for 4 MB of script */
  function loadPlotly() {
    if (window.Plotly || document.getElementById("plotly-lazy")) { return; }
    var sc = document.createElement("script");
    sc.id = "plotly-lazy";
    sc.src = (document.body.getAttribute("data-root") || "") + "assets/plotly.min.js";
    sc.onload = renderCharts;
    document.body.appendChild(sc);
  }
  var lazyCharts = document.querySelectorAll("[data-chart][data-lazy]");
  if (lazyCharts.length && !window.Plotly) {
    if ("IntersectionObserver" in window) {
      var seen = new IntersectionObserver(function (entries) {
        if (entries.some(function (e) { return e.isIntersecting; })) { seen.disconnect(); loadPlotly(); }
      }, { rootMargin: "600px" });
      lazyCharts.forEach(function (c) { seen.observe(c); });
    } else { loadPlotly(); }
  }

  applyLang(lang());
  /* every handler attached, every list's index loaded (benchmarks/site.py reads the time) */
  html.setAttribute("data-ready", String(Math.round(window.performance ? performance.now() : 0)));
  if (document.fonts && document.fonts.ready) { document.fonts.ready.then(renderCharts); }
})();
