/* detect report: process-tree pictures and the timeline (D3), filters, print and link helpers.
   Everything it needs is in the page: the JSON in #report-data and the vendored D3. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var RANK = { informational: 0, low: 1, medium: 2, high: 3, critical: 4 };
  var SVG = "http://www.w3.org/2000/svg";

  function basename(path) { return String(path || "?").split("/").pop(); }
  function clip(text, n) { text = String(text || ""); return text.length > n ? text.slice(0, n - 1) + "…" : text; }

  /* --- process trees ------------------------------------------------------------------- */
  function drawTree(container, nodes) {
    var known = new Set(nodes.map(function (n) { return n.id; }));
    var rows = nodes.map(function (n) {
      return Object.assign({}, n, { parent: known.has(n.parent) ? n.parent : "(root)" });
    });
    rows.push({ id: "(root)", parent: null });
    var root = d3.stratify().id(function (d) { return d.id; }).parentId(function (d) { return d.parent; })(rows);
    var dx = 34, dy = 230;
    d3.tree().nodeSize([dx, dy])(root);
    var x0 = Infinity, x1 = -Infinity;
    root.each(function (d) { x0 = Math.min(x0, d.x); x1 = Math.max(x1, d.x); });
    var depth = d3.max(root.descendants(), function (d) { return d.depth; });
    var width = (depth - 1) * dy + 340, height = x1 - x0 + dx * 2;
    var svg = d3.select(container).append("svg")
      .attr("width", width).attr("height", height)
      .attr("viewBox", [dy - 20, x0 - dx, width, height].join(" "))
      .attr("aria-hidden", "true");
    svg.append("g").selectAll("path").data(root.links().filter(function (l) { return l.source.depth > 0; }))
      .join("path").attr("class", "link")
      .attr("d", d3.linkHorizontal().x(function (d) { return d.y; }).y(function (d) { return d.x; }));
    var node = svg.append("g").selectAll("g").data(root.descendants().filter(function (d) { return d.depth > 0; }))
      .join("g").attr("class", "process").attr("transform", function (d) { return "translate(" + d.y + "," + d.x + ")"; });
    node.append("circle").attr("r", function (d) { return d.data.level ? 7 : 4.5; })
      .attr("class", function (d) { return d.data.level ? "level-" + d.data.level : null; });
    node.append("text").attr("x", 10).attr("dy", "-0.15em")
      .text(function (d) {
        var p = d.data;
        return basename(p.executable) + " [" + p.pid + "]" + (p.user ? " " + p.user : "") + (p.level ? " ◀ " + p.level : "");
      });
    node.append("text").attr("class", "cmdline").attr("x", 10).attr("dy", "1.05em")
      .text(function (d) { return clip(d.data.command_line, 34); });
    node.append("title").text(function (d) {
      var p = d.data;
      return "pid " + p.pid + " " + p.executable + (p.user ? " (" + p.user + ")" : "") + "\n" + p.command_line +
        (p.rules && p.rules.length ? "\nalerted: " + p.level + ", " + p.rules.length + " rule(s)" : "");
    });
  }

  document.querySelectorAll(".tree-picture[data-tree]").forEach(function (container) {
    var nodes = data.trees[container.dataset.tree] || [];
    if (nodes.length) drawTree(container, nodes);
  });

  /* --- timeline -------------------------------------------------------------------------- */
  function drawTimeline(container, timeline) {
    var lanes = ["critical", "high", "medium", "low", "informational"].filter(function (level) {
      return timeline.incidents.some(function (i) { return i.level === level; }) ||
        timeline.alerts.some(function (a) { return a.level === level; });
    });
    if (!lanes.length) { container.textContent = "Nothing to show."; return; }
    var times = [];
    timeline.incidents.forEach(function (i) { times.push(new Date(i.start), new Date(i.end)); });
    timeline.alerts.forEach(function (a) { times.push(new Date(a.time)); });
    var extent = d3.extent(times);
    if (+extent[0] === +extent[1]) extent = [new Date(+extent[0] - 1000), new Date(+extent[1] + 1000)];
    var margin = { left: 90, right: 20, top: 10, bottom: 30 }, lane = 44;
    var width = Math.max(600, container.clientWidth || 1000), height = margin.top + lanes.length * lane + margin.bottom;
    var x = d3.scaleTime().domain(extent).range([margin.left, width - margin.right]).nice();
    var y = d3.scaleBand().domain(lanes).range([margin.top, height - margin.bottom]).padding(0.15);
    var svg = d3.select(container).append("svg").attr("width", width).attr("height", height);
    svg.append("g").attr("transform", "translate(0," + (height - margin.bottom) + ")").call(d3.axisBottom(x).ticks(8));
    svg.append("g").selectAll("text").data(lanes).join("text").attr("class", "lane-label")
      .attr("x", 8).attr("y", function (l) { return y(l) + y.bandwidth() / 2; }).attr("dy", "0.35em").text(function (l) { return l; });
    var bars = svg.append("g").selectAll("a").data(timeline.incidents).join("a")
      .attr("href", function (i) { return "#incident-" + i.id; }).attr("data-incident", function (i) { return i.id; });
    bars.append("rect").attr("class", function (i) { return "incident mark-" + i.level; })
      .attr("x", function (i) { return x(new Date(i.start)); })
      .attr("width", function (i) { return Math.max(5, x(new Date(i.end)) - x(new Date(i.start))); })
      .attr("y", function (i) { return y(i.level); }).attr("height", y.bandwidth() / 2);
    bars.append("title").text(function (i) { return i.level + " incident on " + i.host + ": " + i.title; });
    var marks = svg.append("g").selectAll("a").data(timeline.alerts).join("a")
      .attr("href", function (a) { return "#alert-" + a.key; }).attr("data-alert", function (a) { return a.key; });
    marks.append("circle").attr("class", function (a) { return "alert mark-" + a.level; })
      .attr("cx", function (a) { return x(new Date(a.time)); })
      .attr("cy", function (a) { return y(a.level) + y.bandwidth() * 0.78; }).attr("r", 3.5);
    marks.append("title").text(function (a) { return a.time + " " + a.level + ": " + a.rule + (a.count > 1 ? " ×" + a.count : ""); });
  }
  drawTimeline(document.getElementById("timeline-chart"), data.timeline);

  /* --- filters --------------------------------------------------------------------------- */
  var form = document.getElementById("filters");
  var controls = {
    host: document.getElementById("filter-host"), level: document.getElementById("filter-level"),
    tactic: document.getElementById("filter-tactic"), text: document.getElementById("filter-text")
  };
  function entry(element) {
    return { element: element, host: element.dataset.host, rank: RANK[element.dataset.level] || 0,
      tactics: (element.dataset.tactics || "").split("|"), text: element.textContent.toLowerCase() };
  }
  var incidents = Array.prototype.map.call(document.querySelectorAll("article.incident"), entry);
  var alerts = Array.prototype.map.call(document.querySelectorAll("tr.alert"), entry);
  var marks = document.querySelectorAll("#timeline-chart a");
  var status = document.getElementById("filter-status");

  function applyFilters() {
    var host = controls.host.value, rank = controls.level.value ? RANK[controls.level.value] : -1;
    var tactic = controls.tactic.value, text = controls.text.value.trim().toLowerCase();
    var shown = new Set();
    function keep(e) {
      return (!host || e.host === host) && e.rank >= rank &&
        (!tactic || e.tactics.indexOf(tactic) >= 0) && (!text || e.text.indexOf(text) >= 0);
    }
    var counts = [0, 0];
    [incidents, alerts].forEach(function (list, n) {
      list.forEach(function (e) {
        var ok = keep(e);
        e.element.hidden = !ok;
        if (ok) { counts[n] += 1; shown.add(e.element.dataset.incident ? "i" + e.element.dataset.incident : "a" + e.element.dataset.alert); }
      });
    });
    marks.forEach(function (m) {
      var key = m.dataset.incident ? "i" + m.dataset.incident : "a" + m.dataset.alert;
      m.classList.toggle("dimmed", !shown.has(key));
    });
    status.value = counts[0] + " of " + incidents.length + " incidents, " + counts[1] + " of " + alerts.length + " alerts shown";
    return counts;
  }
  ["change", "input"].forEach(function (type) { form.addEventListener(type, applyFilters); });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.hidden = false;
  applyFilters();

  /* --- links and print ---------------------------------------------------------------------- */
  function reveal() {
    var target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!target) return;
    if (target.hidden) { Object.values(controls).forEach(function (c) { c.value = ""; }); applyFilters(); }
    var raw = target.querySelector("details.raw");
    if (raw) raw.open = true;
    target.scrollIntoView();
  }
  window.addEventListener("hashchange", reveal);
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
  reveal();

  window.detectReport = { applyFilters: applyFilters, controls: controls };
  document.documentElement.dataset.ready = "true";
})();
