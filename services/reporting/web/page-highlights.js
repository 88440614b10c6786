// 特色亮点: the highlights wall, featured first, with the publicity about each.
import { api, el } from "./core.js";
import { t } from "./i18n.js";

const BADGE = { featured: "bad", approved: "ok", submitted: "warn", rejected: "" };

/** Draw the wall; returns the live refresh. */
export async function mount(main) {
  const body = el("div", {});
  main.replaceChildren(el("h1", {}, t("nav_highlights")), body);

  async function draw() {
    const [wall, board] = await Promise.all([api("/views/highlights"), api("/views/scoreboards")]);
    const names = board.names || {};
    const cards = wall.map((h) => el("article", { class: h.status === "featured" ? "featured" : "", "data-status": h.status },
      el("span", { class: `badge ${BADGE[h.status] || ""}` }, t(h.status)),
      el("h3", {}, h.title),
      el("p", { class: "muted" }, `${names[h.department] || h.department} · ${h.submitted_on}`),
      el("p", {}, h.description),
      h.tags.length ? el("p", {}, ...h.tags.map((tag) => el("span", { class: "badge" }, tag)), " ") : null,
      h.evidence.length ? el("p", { class: "muted evidence" }, `${t("evidence")}: `, ...h.evidence.flatMap((item, i) => [
        i ? "、" : null, /^https?:\/\//.test(item) ? el("a", { href: item, rel: "noopener noreferrer" }, item) : item])) : null,
      h.publicity.length ? el("div", {}, el("strong", {}, t("publicity")),
        el("ul", {}, ...h.publicity.map((p) => el("li", {}, `${p.published_on} ${p.channel}：${p.title}`)))) : null));
    body.replaceChildren(cards.length ? el("div", { class: "wall", id: "wall" }, ...cards) : el("p", {}, t("none")));
  }
  await draw();
  return { refresh: draw };
}
