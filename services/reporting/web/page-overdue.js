// 逾期与临期: one work list of tasks, plan items and rectifications, filtered; days overdue per row.
import { api, el, offsetParam, pager, pageSize, params, setParams } from "./core.js";
import { need, statusLabel, t } from "./i18n.js";

const FILTERS = ["kind", "department", "township", "assignee", "window"];

function select(id, label, value, options) {
  return el("label", {}, label, el("select", { id, name: id, onchange: (e) => setParams({ [id]: e.target.value, offset: null }) },
    ...options.map(([v, text]) => el("option", { value: v, selected: v === value }, text))));
}

function when(days) {
  if (days > 0) return el("span", { class: "badge bad" }, t("overdue_n", { n: days }));
  if (days === 0) return el("span", { class: "badge warn" }, t("due_today"));
  return el("span", { class: "badge warn" }, t("due_in", { n: -days }));
}

function title(row) {
  if (row.kind === "plan_item") return `${need(row.ref)}：${row.title}`;
  if (row.kind === "rectification") return `${row.ref} ${row.title}`;
  return row.title;
}

/** Draw the work list; returns the live refresh. */
export async function mount(main) {
  const p = params();
  const chosen = Object.fromEntries(FILTERS.map((f) => [f, p.get(f) || (f === "window" ? "both" : "")]));
  const body = el("div", {});
  main.replaceChildren(el("h1", {}, t("nav_overdue")), body);

  async function draw() {
    const data = await api("/views/worklist", { ...chosen, window: chosen.window || "both", offset: offsetParam(),
      limit: pageSize() });
    const any = ["", t("any")];
    const controls = el("form", { class: "controls no-print", role: "search", onsubmit: (e) => e.preventDefault() },
      select("kind", t("kind"), chosen.kind, [any, ...["task", "plan_item", "rectification"].map((k) => [k, t(`kind_${k}`)])]),
      select("department", t("department"), chosen.department, [any, ...data.options.departments.map((d) => [d.code, d.name])]),
      select("township", t("township"), chosen.township, [any, ...data.options.townships.map((d) => [d.code, d.name])]),
      select("assignee", t("assignee"), chosen.assignee, [any, ...data.options.assignees.map((a) => [a, a])]),
      select("window", t("window"), chosen.window, ["both", "overdue", "due_soon"].map((w) => [w, t(`window_${w}`)])));
    const summary = el("div", { class: "cards", id: "counts" },
      el("div", { class: "card alert", "data-count": "overdue" }, el("div", { class: "label" }, t("count_overdue")),
        el("div", { class: "value" }, data.counts.overdue)),
      el("div", { class: "card", "data-count": "due_soon" }, el("div", { class: "label" }, t("count_due_soon")),
        el("div", { class: "value" }, data.counts.due_soon)),
      ...Object.entries(data.by_kind).map(([k, n]) => el("div", { class: "card", "data-kind": k },
        el("div", { class: "label" }, t(`kind_${k}`)), el("div", { class: "value" }, n))));
    const table = data.rows.length ? el("table", { id: "worklist", class: "cards-on-phone" },
      el("thead", {}, el("tr", {}, ...["kind", "item", "department", "township", "assignee", "deadline", "days", "status", ""]
        .map((k) => el("th", { scope: "col" }, k ? t(k) : "")))),
      el("tbody", {}, ...data.rows.map((r) => el("tr", { "data-kind": r.kind, "data-days": r.days_overdue },
        el("td", { "data-label": t("kind") }, t(`kind_${r.kind}`)), el("td", { "data-label": t("item") }, title(r)),
        el("td", { "data-label": t("department") }, r.department_name),
        el("td", { "data-label": t("township") }, r.township_name || "—"),
        el("td", { "data-label": t("assignee") }, r.assignee || "—"),
        el("td", { class: "date", "data-label": t("deadline") }, r.deadline),
        el("td", { "data-label": t("days") }, when(r.days_overdue)),
        el("td", { "data-label": t("status") }, statusLabel(r.status)),
        el("td", { class: "no-print", "data-label": "" },
          el("a", { href: `/dash/history?id=${encodeURIComponent(r.id)}` }, t("history_link")))))))
      : el("p", {}, t("none"));
    body.replaceChildren(controls, el("p", { class: "muted" }, `${t("as_of")} ${data.today}`), summary,
      el("div", { class: "panel" }, pager(data), table, data.total > data.limit ? pager(data, "offset", "pager-bottom") : null));
  }
  await draw();
  return { refresh: draw };
}
