// Hand-written SVG charts over the inlined marts (no libraries, no network).
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("dashboard-data").textContent);
  const NS = "http://www.w3.org/2000/svg";
  const W = 640, H = 300;
  const SUP = DATA.suppressed_label;

  function el(parent, name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    parent.appendChild(node);
    return node;
  }
  const fmt = (v) => (v === null || v === undefined ? SUP : v.toLocaleString("en-US"));
  const pct = (n, d) => (n === null || d === null || !d ? null : (100 * n) / d);
  // Axis maximum = 4 ticks of a round step (1, 2, 2.5 or 5 x 10^k), whole numbers for counts.
  function niceMax(v, counts) {
    const raw = Math.max(v, counts ? 4 : 1) / 4;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw && (!counts || s % 1 === 0));
    return 4 * (step || 10 * p);
  }
  function hatchDefs() {
    const svg = el(document.body, "svg", { width: 0, height: 0, "aria-hidden": "true" });
    const pat = el(el(svg, "defs"), "pattern", {
      id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)",
    });
    el(pat, "rect", { width: 6, height: 6, fill: "#eee" });
    el(pat, "line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#888", "stroke-width": 2 });
  }
  function frame(name, height) {
    const svg = document.querySelector(`figure[data-chart="${name}"] svg`);
    svg.replaceChildren();
    svg.setAttribute("viewBox", `0 0 ${W} ${height}`);
    svg.setAttribute("role", "img");
    return svg;
  }
  function empty(name) {
    const svg = frame(name, 80);
    el(svg, "text", { x: W / 2, y: 44, "text-anchor": "middle", class: "empty" }, "No data for this chart yet");
  }
  function legend(svg, names, x, y) {
    names.forEach((n, i) => {
      el(svg, "rect", { x: x + i * 150, y: y - 9, width: 10, height: 10, class: `series-${i} legend-key mark` });
      el(svg, "text", { x: x + i * 150 + 14, y: y, class: "legend" }, n);
    });
  }

  // Horizontal bars: rows = [{label, values: [number|null, ...], texts: [string, ...]}].
  function hbar(name, rows, opts) {
    if (!rows.length) return empty(name);
    const series = opts.series || [""];
    const band = 14 * series.length + 8;
    // Left margin from the longest category label (at most ~7.2 px per character at 11 px), after the axis title.
    const longest = Math.max(4, ...rows.map((r) => String(r.label).length));
    const top = series.length > 1 ? 28 : 12, left = Math.min(400, 40 + 7.2 * longest), right = 90;
    const height = top + rows.length * band + 46;
    const svg = frame(name, height);
    if (series.length > 1) legend(svg, series, left, 16);
    const max = niceMax(Math.max(0, ...rows.flatMap((r) => r.values.filter((v) => v !== null))), !opts.percent);
    const x = (v) => left + ((W - left - right) * v) / max;
    const axis = el(svg, "g", { class: "axis" });
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4, xx = x(v);
      el(axis, "line", { x1: xx, x2: xx, y1: top, y2: height - 40 });
      el(axis, "text", { x: xx, y: height - 28, "text-anchor": "middle", class: "tick" }, opts.tick(v));
    }
    rows.forEach((r, i) => {
      const y0 = top + i * band;
      el(svg, "text", { x: left - 6, y: y0 + band / 2 + 4, "text-anchor": "end", class: "tick" }, r.label);
      r.values.forEach((v, s) => {
        const y = y0 + 4 + s * 14;
        if (v === null) {
          el(svg, "rect", { x: left, y, width: 8, height: 12, class: "mark suppressed" });
          el(svg, "text", { x: left + 12, y: y + 10, class: "value-label" }, SUP);
        } else {
          el(svg, "rect", { x: left, y, width: Math.max(1, x(v) - left), height: 12, class: `mark series-${s}` });
          el(svg, "text", { x: x(v) + 4, y: y + 10, class: "value-label" }, r.texts[s]);
        }
      });
    });
    el(svg, "text", { x: (left + W - right) / 2, y: height - 8, "text-anchor": "middle", class: "axis-label" },
      opts.xLabel);
    el(svg, "text", { x: 12, y: top + (height - 40 - top) / 2, class: "axis-label", "text-anchor": "middle",
      transform: `rotate(-90 12 ${top + (height - 40 - top) / 2})` }, opts.yLabel);
  }

  // Monthly series: bars or a line with points; suppressed months get a hatched stub on the baseline.
  function timeChart(name, rows, opts) {
    if (!rows.length) return empty(name);
    const left = 60, right = 16, top = 14, bottom = 60, height = H;
    const svg = frame(name, height);
    const max = niceMax(Math.max(0, ...rows.map((r) => r.value).filter((v) => v !== null)), true);
    const step = (W - left - right) / Math.max(1, rows.length);
    const xc = (i) => left + step * (i + 0.5);
    const y = (v) => height - bottom - ((height - bottom - top) * v) / max;
    const axis = el(svg, "g", { class: "axis" });
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      el(axis, "line", { x1: left, x2: W - right, y1: y(v), y2: y(v) });
      el(axis, "text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, fmt(Math.round(v)));
    }
    const every = Math.max(1, Math.ceil(rows.length / 12));
    rows.forEach((r, i) => {
      if (i % every === 0) {
        el(axis, "text", { x: xc(i), y: height - bottom + 14, "text-anchor": "middle", class: "tick" }, r.label);
      }
      if (r.value === null) {
        el(svg, "rect", { x: xc(i) - Math.max(1.5, step * 0.3), y: y(0) - 6, width: Math.max(3, step * 0.6),
          height: 6, class: "mark suppressed" }).appendChild(document.createElementNS(NS, "title")).textContent =
          `${r.label}: ${SUP}`;
      } else if (opts.kind === "bar") {
        el(svg, "rect", { x: xc(i) - step * 0.4, y: y(r.value), width: Math.max(1, step * 0.8),
          height: y(0) - y(r.value), class: "mark series-0" });
      }
    });
    if (opts.kind === "line") {
      let path = "";
      rows.forEach((r, i) => {
        if (r.value === null) return;
        path += `${path && rows[i - 1] && rows[i - 1].value !== null ? "L" : "M"}${xc(i)},${y(r.value)} `;
        el(svg, "circle", { cx: xc(i), cy: y(r.value), r: 2.5, class: "mark series-0" });
      });
      if (path) el(svg, "path", { d: path, class: "mark line" });
    }
    el(svg, "text", { x: (left + W - right) / 2, y: height - 14, "text-anchor": "middle", class: "axis-label" },
      opts.xLabel);
    el(svg, "text", { x: 14, y: (top + height - bottom) / 2, "text-anchor": "middle", class: "axis-label",
      transform: `rotate(-90 14 ${(top + height - bottom) / 2})` }, opts.yLabel);
  }

  const countTick = (v) => fmt(Math.round(v));
  const pctText = (n, d) => (pct(n, d) === null ? SUP : `${pct(n, d).toFixed(1)}% (${fmt(n)})`);
  hatchDefs();

  timeChart("cohort_size", DATA.cohort_monthly.map((r) => ({ label: r.month, value: r.cohort_size })),
    { kind: "line", xLabel: "Month (index date)", yLabel: "Patients (cumulative)" });
  timeChart("new_patients", DATA.cohort_monthly.map((r) => ({ label: r.month, value: r.new_cramp_patients })),
    { kind: "bar", xLabel: "Month (index date)", yLabel: "New patients" });

  const overall = DATA.prevalence.filter((r) => r.breakdown === "overall");
  hbar("prevalence", overall.map((r) => {
    const p = pct(r.patients_with_flag, r.patients_in_group);
    return { label: r.flag_label || r.flag, values: [p], texts: [pctText(r.patients_with_flag, r.patients_in_group)] };
  }), { tick: (v) => `${Math.round(v)}%`, xLabel: "Share of cohort patients (%)", yLabel: "Flag", percent: true });

  hbar("overlap", DATA.overlap.map((r) => ({ label: r.combination, values: [r.patients], texts: [fmt(r.patients)] })),
    { tick: countTick, xLabel: "Patients", yLabel: "Primary flags present" });

  for (const breakdown of ["age_band", "sex"]) {
    const rows = DATA.prevalence.filter((r) => r.breakdown === breakdown && r.flag === "any_primary_risk");
    hbar(breakdown, rows.map((r) => ({
      label: r.group_value,
      values: [r.patients_in_group, r.patients_with_flag],
      texts: [fmt(r.patients_in_group), fmt(r.patients_with_flag)],
    })), { series: ["Cohort patients", "With a primary risk factor"], tick: countTick, xLabel: "Patients",
      yLabel: breakdown === "sex" ? "Sex" : "Age band (years)" });
  }

  hbar("care_gaps", DATA.care_gaps.map((r) => ({ label: r.gap, values: [r.patients], texts: [fmt(r.patients)] })),
    { tick: countTick, xLabel: "Patients with the gap open", yLabel: "Care gap" });
  hbar("attrition", DATA.attrition.map((r) => ({ label: r.step, values: [r.patients], texts: [fmt(r.patients)] })),
    { tick: countTick, xLabel: "Patients", yLabel: "Step" });

  document.body.setAttribute("data-rendered", "true");
})();
