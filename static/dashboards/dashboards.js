/* A dashboard's elements: fetch each element's JSON (data-source) and draw it.
   Top N and charts with Chart.js (window.Chart, vendored), totals as tiles, the map as an SVG built from the
   vendored world map (static/vendor/world-atlas-2.0.2). Every element also gets a table of its numbers in its
   <details> (the text alternative of the drawing). No inline script or style: the page's CSP refuses them. */
(function () {
  "use strict";

  var PALETTE = ["#3a6ea5", "#f2a541", "#4caf7d", "#c0504d", "#8064a2", "#2aa3b5", "#9aa5b1", "#d67fb0", "#7a9a3a"];
  var MAP_STEPS = ["#e3ecf6", "#b9cfe8", "#86acd6", "#5588c0", "#2f64a0", "#1f3a5f"];
  var NO_DATA = "#f1f3f6";
  var numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  var moneyFormat = new Intl.NumberFormat(undefined, { style: "currency", currency: "USD", maximumFractionDigits: 2 });
  var compactFormat = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
  var worldPromise = null;

  function format(value, unit) {
    if (unit === "USD") {
      return value < 1 && value > 0 ? "$" + value.toFixed(4) : moneyFormat.format(value);
    }
    return numberFormat.format(value);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    return node;
  }

  function table(headers, rows) {
    var t = el("table", { "class": "dash-table" });
    var head = el("tr");
    headers.forEach(function (h, i) { head.appendChild(el("th", { scope: "col", "class": i ? "num" : "" }, h)); });
    t.appendChild(el("thead")).appendChild(head);
    var body = t.appendChild(el("tbody"));
    rows.forEach(function (row) {
      var tr = body.appendChild(el("tr"));
      row.forEach(function (cell, i) { tr.appendChild(el(i ? "td" : "th", i ? { "class": "num" } : { scope: "row" }, cell)); });
    });
    return t;
  }

  function empty(body, text) {
    body.replaceChildren(el("p", { "class": "dash-empty" }, text || "No activity in this period."));
  }

  function canvasIn(body, label, height) {
    var wrap = el("div", { "class": "dash-canvas dash-canvas-" + height });
    var canvas = el("canvas", { role: "img", "aria-label": label });
    wrap.appendChild(canvas);
    body.replaceChildren(wrap);
    return canvas;
  }

  function baseOptions(unit) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { labels: { boxWidth: 12, font: { size: 12 } } },
        tooltip: { callbacks: { label: function (ctx) {
          var v = ctx.parsed !== null && typeof ctx.parsed === "object" ? (ctx.parsed.y !== undefined && ctx.chart.config.options.indexAxis !== "y" ? ctx.parsed.y : ctx.parsed.x) : ctx.parsed;
          return (ctx.dataset.label ? ctx.dataset.label + ": " : "") + format(v, unit);
        } } }
      }
    };
  }

  function drawTopN(body, tableBox, data) {
    if (!data.rows.length) { empty(body); return; }
    var height = data.rows.length > 12 ? "tall" : data.rows.length > 6 ? "medium" : "short";
    var canvas = canvasIn(body, data.title + ": " + data.measure_label, height);
    var options = baseOptions(data.unit);
    options.indexAxis = "y";
    options.plugins.legend = { display: false };
    options.scales = { x: { beginAtZero: true, ticks: { callback: function (v) { return data.unit === "USD" ? "$" + compactFormat.format(v) : compactFormat.format(v); } } },
                       y: { ticks: { autoSkip: false } } };
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: data.rows.map(function (r) { return r.label; }),
              datasets: [{ label: data.measure_label, data: data.rows.map(function (r) { return r.value; }), backgroundColor: PALETTE[0], borderRadius: 3 }] },
      options: options
    });
    tableBox.replaceChildren(table([data.subject_label || "Name", data.measure_label], data.rows.map(function (r) { return [r.label, format(r.value, data.unit)]; })));
  }

  function drawSeries(body, tableBox, data) {
    var total = data.datasets.reduce(function (sum, d) { return sum + d.data.reduce(function (a, b) { return a + b; }, 0); }, 0);
    if (!total) { empty(body); return; }
    var canvas = canvasIn(body, data.title + ": " + data.measure_label + " " + data.interval, "medium");
    var line = data.chart_type === "line";
    var options = baseOptions(data.unit);
    options.interaction = { mode: "index", intersect: false };
    options.plugins.legend.display = data.datasets.length > 1;
    options.scales = { x: { stacked: !line, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
                       y: { stacked: !line, beginAtZero: true, ticks: { callback: function (v) { return data.unit === "USD" ? "$" + compactFormat.format(v) : compactFormat.format(v); } } } };
    new window.Chart(canvas, {
      type: line ? "line" : "bar",
      data: { labels: data.labels, datasets: data.datasets.map(function (d, i) {
        var color = PALETTE[i % PALETTE.length];
        return { label: d.label, data: d.data, borderColor: color, backgroundColor: line ? color + "22" : color,
                 fill: line && data.datasets.length === 1, cubicInterpolationMode: "monotone", pointRadius: data.labels.length > 40 ? 0 : 2, borderWidth: 2 };
      }) },
      options: options
    });
    var headers = [data.interval === "day" ? "Day" : data.interval === "week" ? "Week" : "Month"].concat(data.datasets.map(function (d) { return d.label; }));
    tableBox.replaceChildren(table(headers, data.labels.map(function (label, i) {
      return [label].concat(data.datasets.map(function (d) { return format(d.data[i], data.unit); }));
    })));
  }

  function drawDoughnut(body, tableBox, data) {
    var total = data.values.reduce(function (a, b) { return a + b; }, 0);
    if (!total) { empty(body); return; }
    var canvas = canvasIn(body, data.title + ": share of " + data.measure_label + " by " + data.category, "medium");
    var options = baseOptions(data.unit);
    options.cutout = "58%";
    options.plugins.legend = { position: "right", labels: { boxWidth: 12, font: { size: 12 } } };
    options.plugins.tooltip.callbacks.label = function (ctx) {
      return ctx.label + ": " + format(ctx.parsed, data.unit) + " (" + Math.round(ctx.parsed / total * 100) + "%)";
    };
    new window.Chart(canvas, {
      type: "doughnut",
      data: { labels: data.labels, datasets: [{ data: data.values, backgroundColor: data.labels.map(function (_, i) { return PALETTE[i % PALETTE.length]; }), borderWidth: 1 }] },
      options: options
    });
    tableBox.replaceChildren(table([data.category.charAt(0).toUpperCase() + data.category.slice(1), data.measure_label, "Share"],
      data.labels.map(function (label, i) { return [label, format(data.values[i], data.unit), Math.round(data.values[i] / total * 1000) / 10 + "%"]; })));
  }

  function drawTotals(body, tableBox, data) {
    var grid = el("div", { "class": "dash-tiles" });
    data.metrics.forEach(function (m) {
      var tile = el("div", { "class": "dash-tile", "data-metric": m.key });
      tile.appendChild(el("span", { "class": "dash-tile-label" }, m.label));
      tile.appendChild(el("span", { "class": "dash-tile-value" }, format(m.value, m.unit)));
      var direction = m.change === null ? "none" : m.change > 0.5 ? "up" : m.change < -0.5 ? "down" : "flat";
      tile.appendChild(el("span", { "class": "dash-change dash-change-" + direction, title: "Previous period: " + format(m.previous, m.unit) },
        m.change_text + (m.change === null ? "" : " vs previous")));
      grid.appendChild(tile);
    });
    body.replaceChildren(grid);
    tableBox.replaceChildren(table(["Measure", data.period.label, data.previous_period.label, "Change"],
      data.metrics.map(function (m) { return [m.label, format(m.value, m.unit), format(m.previous, m.unit), m.change_text]; })));
  }

  function world(url) {
    if (!worldPromise) {
      worldPromise = fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { throw new Error("world map " + r.status); }
        return r.json();
      });
    }
    return worldPromise;
  }

  function steps(max) {
    // Upper bounds of the colour steps: a square-root scale, so that small countries still show.
    var bounds = [];
    for (var i = 1; i <= MAP_STEPS.length; i++) { bounds.push(Math.ceil(max * Math.pow(i / MAP_STEPS.length, 2))); }
    return bounds;
  }

  function drawMap(body, tableBox, data, worldUrl) {
    return world(worldUrl).then(function (map) {
      var values = {};
      data.countries.forEach(function (c) { values[c.code] = c.value; });
      var bounds = steps(data.max || 1);
      var figure = el("figure", { "class": "dash-map" });
      var root = svg("svg", { viewBox: map.viewBox, role: "img", "aria-label": data.title + ": " + data.measure_label + " by country", "class": "dash-map-svg" });
      Object.keys(map.countries).forEach(function (code) {
        var country = map.countries[code];
        var value = values[code] || 0;
        var step = 0;
        while (step < bounds.length - 1 && value > bounds[step]) { step++; }
        var path = svg("path", { d: country.d, "data-iso": code, fill: value ? MAP_STEPS[step] : NO_DATA, "class": "dash-country" + (value ? " has-value" : "") });
        var title = svg("title");
        title.textContent = country.name + ": " + format(value, "") + " " + data.measure_label.toLowerCase();
        path.appendChild(title);
        root.appendChild(path);
      });
      figure.appendChild(root);
      var legend = el("figcaption", { "class": "dash-legend" });
      legend.appendChild(el("span", { "class": "dash-legend-title" }, data.measure_label));
      var lower = 1;
      MAP_STEPS.forEach(function (color, i) {
        if (!data.max || bounds[i] < lower) { return; }
        var item = el("span", { "class": "dash-legend-item" });
        var swatch = svg("svg", { width: "14", height: "14", "aria-hidden": "true" });
        swatch.appendChild(svg("rect", { width: "14", height: "14", rx: "2", fill: color }));
        item.appendChild(swatch);
        item.appendChild(document.createTextNode(" " + compactFormat.format(lower) + (bounds[i] > lower ? "–" + compactFormat.format(bounds[i]) : "")));
        legend.appendChild(item);
        lower = bounds[i] + 1;
      });
      if (data.internal) {
        legend.appendChild(el("span", { "class": "dash-legend-note" }, "Internal or unknown: " + format(data.internal, "")));
      }
      figure.appendChild(legend);
      body.replaceChildren(figure);
      if (!data.countries.length && !data.internal) { body.appendChild(el("p", { "class": "dash-empty" }, "No activity in this period.")); }
      var rows = data.countries.map(function (c) { return [c.name + " (" + c.code + ")", format(c.value, "")]; });
      if (data.internal) { rows.push(["Internal or unknown", format(data.internal, "")]); }
      tableBox.replaceChildren(table(["Country", data.measure_label], rows));
    });
  }

  function load(article, worldUrl) {
    var body = article.querySelector("[data-body]");
    var tableBox = article.querySelector("[data-table]");
    var meta = article.querySelector("[data-meta]");
    return fetch(article.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        meta.textContent = data.period.label + (data.filters ? " · " + data.filters : "");
        if (data.kind === "top_n") { drawTopN(body, tableBox, data); }
        else if (data.kind === "chart" && data.chart_type === "doughnut") { drawDoughnut(body, tableBox, data); }
        else if (data.kind === "chart") { drawSeries(body, tableBox, data); }
        else if (data.kind === "totals") { drawTotals(body, tableBox, data); }
        else if (data.kind === "map") { return drawMap(body, tableBox, data, worldUrl); }
      })
      .then(function () { article.classList.add("is-drawn"); })
      .catch(function (error) {
        body.replaceChildren(el("p", { "class": "dash-empty dash-error" }, "Could not load this element (" + error.message + "). Reload the page to try again."));
      });
  }

  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
  }

  function dragToReorder(grid) {
    var dragged = null;
    var csrf = document.querySelector("input[name=csrfmiddlewaretoken]");
    grid.addEventListener("dragstart", function (event) {
      dragged = event.target.closest(".dash-element");
      if (dragged) { dragged.classList.add("is-dragging"); event.dataTransfer.effectAllowed = "move"; }
    });
    grid.addEventListener("dragend", function () { if (dragged) { dragged.classList.remove("is-dragging"); } dragged = null; });
    grid.addEventListener("dragover", function (event) {
      var over = event.target.closest(".dash-element");
      if (!dragged || !over || over === dragged) { return; }
      event.preventDefault();
      var items = Array.prototype.slice.call(grid.children);
      if (items.indexOf(over) < items.indexOf(dragged)) { grid.insertBefore(dragged, over); } else { grid.insertBefore(dragged, over.nextSibling); }
    });
    grid.addEventListener("drop", function (event) {
      if (!dragged || !csrf) { return; }
      event.preventDefault();
      var to = Array.prototype.slice.call(grid.children).indexOf(dragged);
      var form = new FormData();
      form.append("to", String(to));
      fetch(dragged.dataset.move, { method: "POST", body: form, credentials: "same-origin",
                                    headers: { "X-CSRFToken": csrf.value, Accept: "application/json" } });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    confirmForms();
    var grid = document.getElementById("dashboard-grid");
    if (!grid) { return; }
    if (window.Chart) {
      window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
      window.Chart.defaults.color = "#5b6675";
    }
    grid.querySelectorAll(".dash-element[data-source]").forEach(function (article) { load(article, grid.dataset.world); });
    if (grid.dataset.owner) { dragToReorder(grid); }
  });
})();
