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
          var hay = (item.getAttribute("data-search") || "").toLowerCase();
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

  applyLang(lang());
  if (document.fonts && document.fonts.ready) { document.fonts.ready.then(renderCharts); }
})();
