// The full-article dialog, and the article cache the source cards share.
import { $, copiesLabel, dateLabel, el, fileName, highlighted, publisher } from "./dom.js";

const articleCache = new Map();

export function fetchArticle(id) {
  if (!articleCache.has(id)) {
    const request = fetch(`/api/articles/${encodeURIComponent(id)}`).then(async (r) => {
      const body = await r.json().catch(() => null);
      if (!r.ok || !body) throw new Error(body && body.error ? body.error.message : `HTTP ${r.status}`);
      return body;
    });
    request.catch(() => articleCache.delete(id));
    articleCache.set(id, request);
  }
  return articleCache.get(id);
}

// Opens the article with `ranges` (article offsets) highlighted, scrolled to the first, or
// to the paragraph holding offset `focus` (the list item whose citation mark was clicked).
export async function openArticle(article, ranges, focus = null) {
  const dialog = $("article-view");
  const body = $("article-body");
  $("article-title").textContent = article.title;
  const meta = [publisher(article), dateLabel(article), fileName(article) && `文件 ${fileName(article)}`];
  $("article-meta").textContent = meta.filter(Boolean).join(" · ");
  body.replaceChildren(el("p", { class: "meta", text: "正在加载… / loading…" }));
  if (!dialog.open) dialog.showModal();
  $("close-article").focus();
  try {
    const full = await fetchArticle(article.id);
    // The stored article knows its file even where the source is a publication's name.
    const authors = (full.authors || []).map((a) => a.name).join("、");
    const known = [publisher(full), dateLabel(full), authors && `作者 ${authors}`,
      fileName(full) && `文件 ${fileName(full)}`, copiesLabel(article)];
    $("article-meta").textContent = known.filter(Boolean).join(" · ");
    let first = null;
    let focused = null;
    const paragraphs = full.paragraphs.map((para) => {
      const node = el("p", {
        class: `${para.kind} selectable`, "data-paragraph": String(para.index),
        "data-article": full.id, "data-offset": String(para.start),
      }, highlighted(full.text.slice(para.start, para.end), para.start, ranges));
      if (!first && node.querySelector("mark")) first = node;
      if (focus !== null && para.start <= focus && focus < para.end) focused = node;
      return node;
    });
    body.replaceChildren(...summaryOf(full, paragraphs), ...paragraphs);
    if (focused) first = focused;
    if (first) first.scrollIntoView({ block: "center" });
  } catch (err) {
    body.replaceChildren(el("p", { class: "notfound", text: `无法打开文章：${err.message}` }));
  }
}

// The summary chosen at build time, folded above the text; an item's button scrolls to it.
const SUMMARY_KINDS = { lead: "导语", heading: "小标题", key: "要点" };

function summaryOf(full, paragraphs) {
  if (!(full.summary || []).length) return [];
  const jump = (part) => paragraphs[part.paragraph] && paragraphs[part.paragraph].scrollIntoView({ block: "center" });
  const list = el("ol", {}, ...full.summary.map((part) => el("li", {},
    el("span", { class: "part-label", text: `${SUMMARY_KINDS[part.kind] || ""} ` }),
    el("button", { type: "button", class: "summary-jump", text: part.text, onclick: () => jump(part) }))));
  return [el("details", { class: "article-summary" }, el("summary", { text: "摘要 / Summary" }), list)];
}

// What Tab can reach: a folded summary's items are laid out (getClientRects) but not reachable.
function folded(node) {
  return !node.matches("summary") && node.closest("details:not([open])") !== null;
}

function focusable(root) {
  return [...root.querySelectorAll("button, summary, [href], input, textarea, [tabindex]:not([tabindex='-1'])")]
    .filter((node) => !node.disabled && node.getClientRects().length && !folded(node));
}

export function setUpArticleDialog() {
  const dialog = $("article-view");
  $("close-article").addEventListener("click", () => dialog.close());
  // A click on the backdrop lands on the dialog element itself (its content fills it).
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  // Tab and Shift+Tab stay inside the dialog.
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const items = focusable(dialog);
    const body = $("article-body");
    const stops = items.length ? items : [body];
    const first = stops[0];
    const last = stops[stops.length - 1];
    if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      first.focus();
    }
  });
}
