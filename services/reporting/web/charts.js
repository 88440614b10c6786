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

/**
 * A heatmap table: one row per series, one cell per label (month), each cell coloured by its level,
 * so that who is behind in which month shows at a glance (unlike crossing lines in one box).
 * rows: [{name, values: [v|null]}]; levels: ascending thresholds [t0, t1, t2] (below t0 is the worst).
 */
export function heatTable({ id, caption, labels, rows, levels, format, columnLabel = (label) => label }) {
  const level = (v) => levels.filter((threshold) => v >= threshold).length;
  const table = document.createElement("table");
  table.className = "heat";
  if (id) table.id = id;
  const cap = document.createElement("caption");
  cap.className = "visually-hidden";
  cap.textContent = caption;
  const head = document.createElement("thead");
  const headRow = document.createElement("tr");
  headRow.append(document.createElement("th"));
  for (const label of labels) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = columnLabel(label);
    headRow.append(th);
  }
  head.append(headRow);
  const body = document.createElement("tbody");
  for (const row of rows) {
    const tr = document.createElement("tr");
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = row.name;
    tr.append(name);
    row.values.forEach((v, i) => {
      const td = document.createElement("td");
      if (v === null || v === undefined) {
        td.className = "empty";
        td.textContent = "·";
        td.title = `${row.name} ${labels[i]}: —`;
      } else {
        td.className = `lvl${level(v)}`;
        td.dataset.level = String(level(v));
        td.textContent = format(v);
        td.title = `${row.name} ${labels[i]}: ${format(v)}`;
      }
      tr.append(td);
    });
    body.append(tr);
  }
  table.append(cap, head, body);
  return table;
}

/** The key of a heatmap: what each colour means. */
export function heatScale(items) {
  const box = document.createElement("div");
  box.className = "heat-scale";
  items.forEach((text, i) => {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.className = `lvl${i}`;
    item.append(swatch, text);
    box.append(item);
  });
  return box;
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
