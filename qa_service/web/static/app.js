// Chat page for qa-service. Every piece of data is inserted with textContent, never as
// HTML, so questions and article text containing markup render literally.
"use strict";

const STORE_KEY = "qa-service-history-v1";
const MAX_SAVED = 50;
const HISTORY_SENT = 10;

const $ = (id) => document.getElementById(id);
const articleCache = new Map();

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// Text with [start, end) wrapped in <mark>; offsets relative to `text`.
function marked(text, start, end) {
  const frag = document.createDocumentFragment();
  if (start === null || end === null || end <= 0 || start >= text.length) {
    frag.append(text);
    return frag;
  }
  const a = Math.max(0, start);
  const b = Math.min(text.length, end);
  frag.append(text.slice(0, a), el("mark", { text: text.slice(a, b) }), text.slice(b));
  return frag;
}

function loadSaved() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORE_KEY) || "[]");
    return Array.isArray(saved) ? saved : [];
  } catch {
    return [];
  }
}

function save(entries) {
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify(entries.slice(-MAX_SAVED)));
  } catch {
    // Storage full or disabled: the conversation still works, it just is not kept.
  }
}

let conversation = loadSaved();

function citation(p) {
  const a = p.article;
  return `《${a.title}》 ${a.source} 第${p.paragraph + 1}段 [${p.char_start}–${p.char_end}]：${p.text}`;
}

async function copyText(text, button) {
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

function fetchArticle(id) {
  if (!articleCache.has(id)) {
    const request = fetch(`/api/articles/${encodeURIComponent(id)}`).then(async (r) => {
      const body = await r.json();
      if (!r.ok) throw new Error(body.error ? body.error.message : `HTTP ${r.status}`);
      return body;
    });
    request.catch(() => articleCache.delete(id));
    articleCache.set(id, request);
  }
  return articleCache.get(id);
}

async function openArticle(p) {
  const dialog = $("article-view");
  const body = $("article-body");
  $("article-title").textContent = p.article.title;
  $("article-meta").textContent = `${p.article.source}${p.article.date ? " · " + p.article.date : ""}`;
  body.replaceChildren(el("p", { class: "meta", text: "正在加载… / loading…" }));
  if (!dialog.open) dialog.showModal();
  try {
    const article = await fetchArticle(p.article.id);
    let first = null;
    body.replaceChildren(...article.paragraphs.map((para) => {
      const text = article.text.slice(para.start, para.end);
      const node = el("p", { class: para.kind, "data-paragraph": String(para.index) },
        marked(text, p.char_start - para.start, p.char_end - para.start));
      if (!first && node.querySelector("mark")) first = node;
      return node;
    }));
    if (first) first.scrollIntoView({ block: "center" });
  } catch (err) {
    body.replaceChildren(el("p", { class: "notfound", text: `无法打开文章：${err.message}` }));
  }
}

async function toggleParagraph(p, card, button) {
  const existing = card.querySelector(".paragraph");
  if (existing) {
    existing.remove();
    card.querySelector(".source-text").hidden = false;
    button.textContent = "展开段落";
    button.setAttribute("aria-expanded", "false");
    return;
  }
  try {
    const article = await fetchArticle(p.article.id);
    const para = article.paragraphs[p.paragraph];
    const last = article.paragraphs.find((q) => q.end >= p.char_end) || para;
    const text = article.text.slice(para.start, last.end);
    const node = el("p", { class: "source-text paragraph" },
      marked(text, p.char_start - para.start, p.char_end - para.start));
    card.querySelector(".source-text").hidden = true;
    card.querySelector(".source-text").after(node);
    button.textContent = "收起段落";
    button.setAttribute("aria-expanded", "true");
  } catch (err) {
    card.append(el("p", { class: "notfound", text: `无法加载段落：${err.message}` }));
  }
}

function sourceCard(p, number, answerId) {
  const card = el("li", { class: "source" + (p.weak ? " weak" : ""), id: `${answerId}-src-${number}` });
  // The card that holds the reader's answer marks the answer itself, others their best sentence.
  const range = p.answer_span || p.highlight;
  const start = range ? range[0] - p.char_start : null;
  const end = range ? range[1] - p.char_start : null;
  const expand = el("button", { type: "button", "aria-expanded": "false", text: "展开段落" });
  expand.addEventListener("click", () => toggleParagraph(p, card, expand));
  const copy = el("button", { type: "button", text: "复制出处" });
  copy.addEventListener("click", () => copyText(citation(p), copy));
  card.append(
    el("div", { class: "source-head" },
      el("span", { class: "source-num", text: `[${number}]` }),
      el("span", { class: "source-title", text: `《${p.article.title}》` }),
      el("span", { class: "meta", text: `${p.article.source} · 第${p.paragraph + 1}段 · 相关度 ${p.score.toFixed(3)}` })),
    el("p", { class: "source-text" }, marked(p.text, start, end)),
    el("div", { class: "source-actions" },
      expand,
      el("button", { type: "button", text: "打开全文", onclick: () => openArticle(p) }),
      copy));
  return card;
}

function citeButton(number, answerId) {
  return el("button", {
    type: "button", class: "cite", text: `[${number}]`, "aria-label": `出处 ${number}`,
    onclick: () => {
      const target = $(`${answerId}-src-${number}`);
      if (!target) return;
      target.scrollIntoView({ block: "nearest", behavior: "smooth" });
      target.classList.add("flash");
      setTimeout(() => target.classList.remove("flash"), 1200);
      const button = target.querySelector("button");
      if (button) button.focus({ preventScroll: true });
    },
  });
}

let answerCounter = 0;

function renderAnswer(result) {
  const id = `a${++answerCounter}`;
  const node = $("answer-template").content.firstElementChild.cloneNode(true);
  const answer = node.querySelector(".answer");
  if (result.found && result.answer) {
    const a = result.answer;
    answer.append(el("mark", { class: "short-answer", text: a.text }), " ", citeButton(a.passage_rank, id));
    // The reader's short answer comes first; the sentence around it gives the context.
    const s = a.sentence;
    if (a.kind === "span" && s && s.text !== a.text) {
      answer.after(el("p", { class: "answer-sentence" },
        marked(s.text, a.char_start - s.char_start, a.char_end - s.char_start)));
    }
  } else {
    answer.append(el("span", { class: "notfound", text: `没有找到：${result.message || "没有可靠的答案"}` }));
    if (result.passages.length) answer.append(el("span", { class: "meta", text: " 以下段落相关性较弱。" }));
  }
  const list = node.querySelector(".sources");
  result.passages.forEach((p) => list.append(sourceCard(p, p.rank, id)));
  return node;
}

function renderEntry(entry) {
  const messages = $("messages");
  messages.append(el("li", { class: "message user" }, el("div", { class: "bubble", text: entry.question })));
  if (entry.result) messages.append(renderAnswer(entry.result));
  else if (entry.error) messages.append(el("li", { class: "message error" }, el("div", { class: "bubble", text: `出错了：${entry.error}` })));
  $("welcome").hidden = true;
}

async function ask(question) {
  const input = $("question");
  const send = $("send");
  const history = conversation.filter((e) => e.result).map((e) => e.question).slice(-HISTORY_SENT);
  const entry = { question };
  renderEntry({ question });
  const busy = el("li", { class: "message bot busy", "aria-busy": "true" }, el("div", { class: "bubble", text: "正在查找" }));
  $("messages").append(busy);
  busy.scrollIntoView({ block: "end" });
  send.disabled = true;
  input.value = "";
  try {
    const response = await fetch("/api/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question, top_k: 5, history }),
    });
    const body = await response.json().catch(() => null);
    if (!response.ok || !body) {
      throw new Error(body && body.error ? body.error.message : `HTTP ${response.status}`);
    }
    entry.result = body;
    busy.replaceWith(renderAnswer(body));
  } catch (err) {
    entry.error = err.message || String(err);
    busy.replaceWith(el("li", { class: "message error" }, el("div", { class: "bubble", text: `出错了：${entry.error}` })));
  } finally {
    send.disabled = false;
    input.focus();
  }
  conversation.push(entry);
  save(conversation);
  $("messages").lastElementChild.scrollIntoView({ block: "start" });
}

async function showStatus() {
  const footer = $("status");
  try {
    const r = await fetch("/api/health");
    const h = await r.json();
    if (h.ready) {
      const built = h.built_at ? new Date(h.built_at).toLocaleString("zh-CN") : "";
      footer.textContent = `索引 ${h.generation} · 构建于 ${built} · ${h.counts.articles} 篇文章 · 模型 ${h.model}`;
    } else {
      footer.textContent = `索引尚未就绪 / not ready: ${h.message || ""} — 请运行 ${h.fix || "qa-service index"}`;
    }
  } catch {
    footer.textContent = "无法连接服务 / cannot reach the service";
  }
}

function submitCurrent() {
  const question = $("question").value.trim();
  if (question && !$("send").disabled) ask(question);
}

document.addEventListener("DOMContentLoaded", () => {
  conversation.forEach(renderEntry);
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitCurrent();
  });
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitCurrent();
    }
  });
  $("question").addEventListener("input", (event) => {
    const area = event.target;
    area.style.height = "auto";
    area.style.height = `${Math.min(area.scrollHeight, 160)}px`;
  });
  document.querySelectorAll(".example").forEach((button) => {
    button.addEventListener("click", () => ask(button.textContent));
  });
  $("clear-history").addEventListener("click", () => {
    conversation = [];
    save(conversation);
    $("messages").replaceChildren();
    $("welcome").hidden = false;
    $("question").focus();
  });
  $("close-article").addEventListener("click", () => $("article-view").close());
  showStatus();
  $("question").focus();
});
