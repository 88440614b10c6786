// 创先争优: departments and townships ranked, with the month-by-month trends.
import { legend, lineChart, PALETTE } from "./charts.js";
import { api, el, params, pct, setParams } from "./core.js";
import { t } from "./i18n.js";

function table(id, columns, rows) {
  return el("table", { id },
    el("thead", {}, el("tr", {}, ...columns.map(([key, , num]) => el("th", { scope: "col", class: num ? "num" : null }, t(key))))),
    el("tbody", {}, ...rows.map((r) => el("tr", { "data-code": r.code },
      ...columns.map(([key, value, num], i) => (i === 1
        ? el("th", { scope: "row" }, value(r))
        : el("td", { class: num ? "num" : null }, value(r))))))));
}

const count = (key) => (r) => (r[key] ? el("span", { class: "badge bad" }, r[key]) : "0");

function trend(title, months, series, names, max, format) {
  const lines = Object.entries(series).map(([code, values], i) => ({ name: names[code] || code, values,
    color: PALETTE[i % PALETTE.length] }));
  if (!lines.length) return el("section", { class: "panel" }, el("h2", {}, title), el("p", {}, t("none")));
  return el("section", { class: "panel chart" }, el("h2", {}, title), legend(lines),
    lineChart({ labels: months, series: lines, max, format, title }));
}

/** Draw the scoreboards; returns the live refresh. */
export async function mount(main) {
  const year = params().get("year") || String(new Date().getFullYear());
  const body = el("div", {});
  main.replaceChildren(el("h1", {}, t("nav_scores")),
    el("div", { class: "controls no-print" }, el("label", {}, t("year"), el("input", { id: "year", type: "number",
      min: 2000, max: 2100, value: year, onchange: (e) => setParams({ year: e.target.value }) }))), body);

  async function draw() {
    const data = await api("/views/scoreboards", { year });
    const departments = table("departments", [
      ["rank", (r) => r.rank, true], ["departments", (r) => r.name], ["tasks", (r) => r.tasks, true],
      ["on_time_rate", (r) => pct(r.on_time_rate), true], ["completion_rate", (r) => pct(r.completion_rate), true],
      ["overdue_tasks", count("overdue_tasks"), true], ["open_rect", (r) => r.open_rectifications, true],
      ["overdue_rect", count("overdue_rectifications"), true], ["overdue_items", count("overdue_plan_items"), true],
    ], data.departments);
    const townships = table("townships", [
      ["rank", (r) => r.rank, true], ["townships", (r) => r.name], ["registered", (r) => r.registered, true],
      ["visited_rate", (r) => pct(r.visited_rate), true], ["planned_rate", (r) => pct(r.planned_rate), true],
      ["delivered_rate", (r) => pct(r.delivered_rate), true], ["open_rect", (r) => r.open_rectifications, true],
      ["overdue_rect", count("overdue_rectifications"), true], ["overdue_items", count("overdue_plan_items"), true],
      ["avg_score", (r) => (r.average_score ?? "—"), true],
    ], data.townships);
    body.replaceChildren(
      el("p", { class: "muted" }, `${t("as_of")} ${data.today}`),
      el("section", { class: "panel" }, el("h2", {}, t("departments")), data.departments.length ? departments : el("p", {}, t("none"))),
      el("section", { class: "panel" }, el("h2", {}, t("townships")), data.townships.length ? townships : el("p", {}, t("none"))),
      el("div", { class: "grid2" },
        trend(t("trend_departments"), data.trends.months, data.trends.departments, data.names, 1,
          (v) => `${Math.round(v * 100)}%`),
        trend(t("trend_townships"), data.trends.months, data.trends.townships, data.names, 100,
          (v) => `${Math.round(v)}`)));
  }
  await draw();
  return { refresh: draw };
}
