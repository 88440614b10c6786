// Small SVG charts drawn here (no chart library, nothing fetched from outside).
const NS = "http://www.w3.org/2000/svg";
export const PALETTE = ["#2f6fb0", "#e08a1e", "#2a9d6f", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#d35400"];

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Horizontal grouped bars: one group per row, one bar per series, values 0..max.
 * rows: [{label, values: [..], onSelect?}], series: [{name, color}].
 */
export function barChart({ rows, series, max = 1, format = (v) => `${(v * 100).toFixed(1)}%`, title }) {
  const labelWidth = 160, width = 780, barHeight = 12, gap = 3, groupGap = 12;
  const groupHeight = series.length * (barHeight + gap) + groupGap;
  const height = rows.length * groupHeight + 28;
  const plot = width - labelWidth - 70;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  root.append(svg("title", {}, title));
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const x = labelWidth + plot * tick;
    root.append(svg("line", { x1: x, x2: x, y1: 0, y2: height - 22, class: "axis" }));
    root.append(svg("text", { x, y: height - 6, "text-anchor": "middle" }, format(max * tick)));
  }
  rows.forEach((row, i) => {
    const top = i * groupHeight + 4;
    const group = svg("g", { class: row.onSelect ? "selectable" : "" });
    group.append(svg("text", { x: labelWidth - 8, y: top + (groupHeight - groupGap) / 2 + 4, "text-anchor": "end" },
      row.label.length > 12 ? `${row.label.slice(0, 12)}…` : row.label));
    series.forEach((s, j) => {
      const value = row.values[j];
      const y = top + j * (barHeight + gap);
      const w = value === null || value === undefined ? 0 : Math.max(1, (plot * Math.min(value, max)) / max);
      const bar = svg("rect", { x: labelWidth, y, width: w, height: barHeight, fill: s.color, rx: 2 });
      bar.append(svg("title", {}, `${row.label} · ${s.name}: ${value === null || value === undefined ? "—" : format(value)}`));
      group.append(bar);
      group.append(svg("text", { x: labelWidth + w + 4, y: y + barHeight - 2 },
        value === null || value === undefined ? "—" : format(value)));
    });
    if (row.onSelect) {
      group.style.cursor = "pointer";
      group.addEventListener("click", row.onSelect);
    }
    root.append(group);
  });
  return root;
}

/** Lines over months: labels ["2026-01", …], series [{name, values: [v|null], color}]. */
export function lineChart({ labels, series, max = 1, format = (v) => `${Math.round(v * 100)}%`, title }) {
  const width = 760, height = 260, left = 48, right = 16, top = 12, bottom = 30;
  const plotW = width - left - right, plotH = height - top - bottom;
  const x = (i) => left + (labels.length > 1 ? (plotW * i) / (labels.length - 1) : plotW / 2);
  const y = (v) => top + plotH - (plotH * Math.min(v, max)) / max;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  root.append(svg("title", {}, title));
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    root.append(svg("line", { x1: left, x2: width - right, y1: y(max * tick), y2: y(max * tick), class: "axis" }));
    root.append(svg("text", { x: left - 6, y: y(max * tick) + 4, "text-anchor": "end" }, format(max * tick)));
  }
  labels.forEach((label, i) => root.append(svg("text", { x: x(i), y: height - 10, "text-anchor": "middle" }, label.slice(5))));
  series.forEach((s) => {
    let path = "";
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      path += `${path ? "L" : "M"}${x(i)},${y(v)}`;
      const dot = svg("circle", { cx: x(i), cy: y(v), r: 3.5, fill: s.color });
      dot.append(svg("title", {}, `${s.name} ${labels[i]}: ${format(v)}`));
      root.append(dot);
    });
    if (path) root.append(svg("path", { d: path, fill: "none", stroke: s.color, "stroke-width": 2 }));
  });
  return root;
}

/** A legend for series: [{name, color}]. */
export function legend(series) {
  const box = document.createElement("div");
  box.className = "legend";
  for (const s of series) {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = s.color;
    item.append(swatch, s.name);
    box.append(item);
  }
  return box;
}
