// The officer's week's own strings (Chinese first, English on the header's switch), kept apart from
// i18n.js so that the phone page's vocabulary grows without touching the dashboards'.
import { lang, t } from "./i18n.js";

const STRINGS = {
  week_title: ["本周工作", "My week"],
  week_unit: ["{unit}", "{unit}"],
  week_for_village: ["{village}（{township}）", "{village} ({township})"],
  fetched_now: ["名单获取于 {time}", "List fetched at {time}"],
  fetched_offline: ["离线：显示的是 {time} 获取的名单", "Offline: showing the list fetched at {time}"],
  no_copy: ["离线，且本机还没有这份名单：联网后再打开一次。", "Offline, and this phone has no copy of the list yet: open it once online."],
  online: ["在线", "Online"],
  offline: ["离线", "Offline"],
  s_not_reached: ["今年尚未走访", "Not yet reached this year"],
  s_lost: ["失访待再访", "Lost to follow-up: try again"],
  s_plan_items: ["一人一策事项（14天内到期或已逾期）", "Plan items due within 14 days or overdue"],
  s_certificates: ["残疾人证即将到期（90天内）", "Certificates expiring within 90 days"],
  s_rectifications: ["本乡镇整改事项", "Rectifications of the township"],
  none_here: ["无", "None"],
  person: ["人员编号", "Person"],
  village: ["村（社区）", "Village"],
  severe: ["重度", "severe"],
  grade_n: ["{n}级", "grade {n}"],
  plan_kind: ["类别", "Kind"],
  kind_protection: ["保障服务", "protection service"],
  kind_income: ["增收发展", "income development"],
  hardship: ["困境", "hardship"],
  lost_times: ["失访 {n} 次，最近 {date}", "lost {n}×, last {date}"],
  record_visit: ["记录走访", "Record visit"],
  pending_badge: ["待发送", "Queued"],
  due_on: ["到期 {date}", "due {date}"],
  overdue_days: ["逾期 {n} 天", "{n} days overdue"],
  due_in_days: ["{n} 天后到期", "due in {n} days"],
  ends_on: ["{date} 到期（还有 {n} 天）", "ends {date} ({n} days left)"],
  department: ["责任单位", "Responsible"],
  measures: ["整改措施", "Measures"],
  deadline: ["整改期限", "Deadline"],
  problem: ["问题", "Problem"],
  open_item: ["查看", "Open"],
  queue_title: ["待发送的走访", "Visits waiting to be sent"],
  queue_empty: ["没有待发送的走访。", "No visit waiting."],
  q_pending: ["等待联网发送", "Waiting for the network"],
  q_sending: ["正在发送…", "Sending…"],
  q_conflict: ["冲突：此人的信息已被他人更改（现为第 {version} 版），请确认后重新发送或放弃。",
    "Conflict: someone else changed this person meanwhile (now version {version}). Check, then re-send or discard."],
  q_conflict_unknown: ["冲突：此人的信息已被他人更改。联网后可查看最新版本。", "Conflict: someone else changed this person meanwhile. Go online to see the new version."],
  q_rejected: ["登记服务未接受：{message}", "The registry refused it: {message}"],
  q_sign_in: ["登录已过期：请重新登录后发送。", "Your sign-in expired: sign in again to send."],
  resend: ["按新版本重新发送", "Re-send against the new version"],
  discard: ["放弃这条走访", "Discard this visit"],
  discard_confirm: ["确定放弃这条走访记录？放弃后无法恢复。", "Discard this visit for good?"],
  sent_n: ["已发送 {n} 条走访", "{n} visit(s) sent"],
  send_now: ["立即发送", "Send now"],
  current_person: ["登记服务中的最新信息：{name}，第 {version} 版{inactive}", "Now in the registry: {name}, version {version}{inactive}"],
  inactive: ["（已注销）", " (deregistered)"],
  your_visit: ["您记录的走访：{date} {mode}", "Your visit: {date} {mode}"],
  form_title: ["入户调研 · {person}", "Home visit · {person}"],
  visited_on: ["走访日期", "Visit date"],
  mode: ["走访方式", "Mode"],
  mode_home: ["入户", "home"],
  mode_face_to_face: ["当面（户外）", "face to face"],
  mode_phone: ["电话", "phone"],
  mode_lost_to_follow_up: ["失访", "lost to follow-up"],
  needs: ["需求", "Needs"],
  what_they_need: ["他们需要什么", "What they need"],
  what_they_can_do: ["他们自己能做什么", "What they can do themselves"],
  what_we_can_do: ["我们能为他们做什么", "What we can do for them"],
  respondent: ["受访人", "Respondent"],
  respondent_self: ["本人", "the person"],
  respondent_family: ["家属", "family"],
  respondent_other: ["其他人", "someone else"],
  lost_reason: ["失访原因", "Why lost to follow-up"],
  yes: ["是", "yes"],
  no: ["否", "no"],
  save_visit: ["保存（联网时自动发送）", "Save (sent when online)"],
  cancel: ["取消", "Cancel"],
  required_missing: ["请填写：{fields}", "Please fill in: {fields}"],
  too_long: ["{field} 最多 {n} 字", "{field}: at most {n} characters"],
  form_simple: ["简易走访表（登记服务尚未提供调查问卷）", "Simple visit form (the registry serves no survey form yet)"],
  form_versioned: ["{title}（第 {version} 版）", "{title} (version {version})"],
  queued: ["已保存到本机，联网后发送。", "Saved on this phone; it will be sent when online."],
};

/** The week page's text for a key (falls back to the dashboards' strings). */
export function w(key, values = {}) {
  const entry = STRINGS[key];
  if (!entry) return t(key, values);
  let text = entry[lang === "en" ? 1 : 0];
  for (const [k, v] of Object.entries(values)) text = text.replace(`{${k}}`, String(v));
  return text;
}

/** A label from a survey form's item ({label_zh, label_en}). */
export const label = (thing) => (lang === "en" ? thing.label_en || thing.label_zh : thing.label_zh || thing.label_en) || thing.code;
