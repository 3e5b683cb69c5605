// Small DOM helpers for the chat page. Every piece of data is inserted with textContent
// (or as text nodes), never as HTML, so markup in questions and articles renders literally.

export const $ = (id) => document.getElementById(id);

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

// OCR'd bylines carry "□" markers: kept in the DOM (offsets of a user's selection stay
// those of the article) but not shown.
function withHiddenMarkers(text) {
  const parts = text.split(/(□+)/);
  if (parts.length === 1) return [text];
  return parts.filter((part) => part).map((part) => (part.startsWith("□")
    ? el("span", { class: "marker", "aria-hidden": "true", text: part }) : part));
}

// `text` is the article's text from offset `base`. `ranges` are article offsets
// {start, end, cls}; where they overlap the later one wins (a span inside its sentence).
export function highlighted(text, base, ranges = []) {
  const frag = document.createDocumentFragment();
  const inside = ranges
    .filter((r) => r && r.end > base && r.start < base + text.length && r.end > r.start)
    .map((r) => ({ start: Math.max(0, r.start - base), end: Math.min(text.length, r.end - base), cls: r.cls }));
  const cuts = [...new Set([0, text.length, ...inside.flatMap((r) => [r.start, r.end])])].sort((a, b) => a - b);
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [a, b] = [cuts[i], cuts[i + 1]];
    const piece = text.slice(a, b);
    const covering = inside.filter((r) => r.start <= a && r.end >= b);
    const top = covering[covering.length - 1];
    frag.append(...(top ? [el("mark", { class: top.cls }, ...withHiddenMarkers(piece))] : withHiddenMarkers(piece)));
  }
  return frag;
}

// One tab stop for a group of buttons; arrow keys, Home and End move between them.
export function roving(container, selector) {
  const items = () => [...container.querySelectorAll(selector)].filter((b) => !b.disabled && b.getClientRects().length);
  const activate = (target) => {
    for (const item of container.querySelectorAll(selector)) item.tabIndex = item === target ? 0 : -1;
  };
  container.addEventListener("keydown", (event) => {
    const list = items();
    const i = list.indexOf(document.activeElement);
    if (i < 0) return;
    const moves = { ArrowDown: i + 1, ArrowRight: i + 1, ArrowUp: i - 1, ArrowLeft: i - 1, Home: 0, End: list.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = list[(moves[event.key] + list.length) % list.length];
    activate(next);
    next.focus();
  });
  container.addEventListener("focusin", (event) => {
    if (event.target.matches(selector)) activate(event.target);
  });
  // Works before the group is in the page: the first button is the tab stop.
  activate(container.querySelector(selector));
}

export async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el("textarea", { class: "visually-hidden" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const label = button.textContent;
  button.textContent = "已复制 ✓";
  setTimeout(() => { button.textContent = label; }, 1500);
}

// What a citation shows of an article: a source name only when it is one (not the file).
export function publisher(article) {
  const source = article.source || "";
  if (!source || source === article.file || /\.[A-Za-z0-9]{1,5}$/.test(source)) return "";
  return source;
}

export function fileName(article) {
  return article.file || (/\.[A-Za-z0-9]{1,5}$/.test(article.source || "") ? article.source : "");
}

// A date the article does not state outright says where it came from: its file's time,
// or read from its text (the command line says the same).
const DATE_ORIGINS = { file_mtime: "文件日期", text: "据正文" };

export function dateLabel(article) {
  if (!article.date) return "";
  const origin = DATE_ORIGINS[article.date_source];
  return origin ? `${article.date}（${origin}）` : article.date;
}

// 同文另见 N 处: the outlets that republished the cited article (not searched themselves).
export function copiesLabel(article) {
  const copies = article.copies || [];
  if (!copies.length) return "";
  const names = copies.slice(0, 3).map((c) => [c.source, c.date].filter(Boolean).join(" ")).join("；");
  return `同文另见 ${copies.length} 处：${names}${copies.length > 3 ? "…" : ""}`;
}

export function citationLine(article, paragraph, page = null) {
  const parts = [`《${article.title}》`];
  if (article.date) parts.push(dateLabel(article));
  if (publisher(article)) parts.push(publisher(article));
  if (page) parts.push(`第${page}页`);
  parts.push(`第${paragraph + 1}段`);
  return parts.join(" · ");
}

// Thumbs drawn as SVG: emoji fonts are missing on many Linux desktops (and in CI).
const THUMB = "M2 10h4v11H2z M8 10l4-8c1.7 0 2.6 1.2 2.2 2.8L13.5 9H20a2 2 0 0 1 2 2.3l-1.4 8A2 2 0 0 1 18.6 21H8z";

export function thumb(down = false) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "icon");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", THUMB);
  if (down) path.setAttribute("transform", "rotate(180 12 12)");
  svg.append(path);
  return svg;
}
