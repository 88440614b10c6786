// 创先争优: departments and townships ranked, with the month-by-month trends as coloured tables.
import { heatScale, heatTable } from "./charts.js";
import { api, el, params, pct, setParams } from "./core.js";
import { lang, t } from "./i18n.js";

function table(id, columns, rows) {
  return el("table", { id },
    el("thead", {}, el("tr", {}, ...columns.map(([key, , num]) => el("th", { scope: "col", class: num ? "num" : null }, t(key))))),
    el("tbody", {}, ...rows.map((r) => el("tr", { "data-code": r.code },
      ...columns.map(([key, value, num], i) => (i === 1
        ? el("th", { scope: "row" }, value(r))
        : el("td", { class: num ? "num" : null }, value(r))))))));
}

const count = (key) => (r) => (r[key] ? el("span", { class: "badge bad" }, r[key]) : "0");

const MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const monthLabel = (label) => (lang === "en" ? MONTHS_EN[Number(label.slice(5)) - 1] : `${Number(label.slice(5))}月`);

/** One row per department or township, one coloured cell per month; rows in board order. */
function trend(id, title, months, series, order, names, levels, format, scale) {
  const codes = [...order.filter((code) => code in series), ...Object.keys(series).filter((c) => !order.includes(c))];
  const rows = codes.map((code) => ({ name: names[code] || code, values: series[code] }))
    .filter((row) => row.values.some((v) => v !== null && v !== undefined));
  if (!rows.length) return el("section", { class: "panel" }, el("h2", {}, title), el("p", {}, t("none")));
  return el("section", { class: "panel", "aria-labelledby": `${id}-title` }, el("h2", { id: `${id}-title` }, title),
    heatScale(scale), el("div", { class: "scroll-x" },
      heatTable({ id, caption: title, labels: months, rows, levels, format, columnLabel: monthLabel })));
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
      trend("trend-departments", t("trend_departments"), data.trends.months, data.trends.departments,
        data.departments.map((d) => d.code), data.names, [0.6, 0.8, 0.95], (v) => `${Math.round(v * 100)}%`,
        [t("rate_below", { n: "60%" }), "60–80%", "80–95%", t("rate_above", { n: "95%" })]),
      trend("trend-townships", t("trend_townships"), data.trends.months, data.trends.townships,
        data.townships.map((d) => d.code), data.names, [60, 80, 90], (v) => `${Math.round(v)}`,
        [t("rate_below", { n: "60" }), "60–80", "80–90", t("rate_above", { n: "90" })]));
  }
  await draw();
  return { refresh: draw };
}
