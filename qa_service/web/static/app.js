// Chat page for qa-service: the conversation, the composer, and what the page says about
// the index it is answering from. Rendering lives in js/render.js.
import { setUpArticleDialog } from "./js/article.js";
import { $, dateLabel, el } from "./js/dom.js";
import { trackSelections } from "./js/feedback.js";
import { renderAnswer } from "./js/render.js";

const STORE_KEY = "qa-service-history-v1";
const MAX_SAVED = 50;
const HISTORY_SENT = 10;
const MAX_CHARS = 500;
const COUNTER_FROM = 400;
const HEALTH_EVERY_MS = 30000;

function loadSaved() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORE_KEY) || "[]");
    // Only answers are kept; errors never were meant to be (older pages saved them).
    return Array.isArray(saved) ? saved.filter((e) => e && typeof e.question === "string" && e.result) : [];
  } catch {
    return [];
  }
}

function save() {
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify(conversation.slice(-MAX_SAVED)));
  } catch {
    // Storage full or disabled: the conversation still works, it just is not kept.
  }
}

let conversation = loadSaved();
let answerCounter = 0;
let known = null; // {generation, articles} of the index the page last saw
let busy = false;

function historyBefore(entry) {
  const earlier = conversation.slice(0, conversation.indexOf(entry) < 0 ? conversation.length : conversation.indexOf(entry));
  return earlier.filter((e) => e.result).map((e) => e.question).slice(-HISTORY_SENT);
}

function userMessage(question) {
  return el("li", { class: "message user" }, el("div", { class: "bubble", text: question }));
}

function renderEntry(entry) {
  const messages = $("messages");
  const question = userMessage(entry.question);
  messages.append(question, renderAnswer(entry, historyBefore(entry), save, ++answerCounter));
  $("welcome").hidden = true;
  return question;
}

// The new exchange's top lands just below the sticky bar (scroll-margin-top in the CSS).
function reveal(node) {
  node.scrollIntoView({ block: "start" });
}

function errorMessage(status, body) {
  if (status === 0) return "无法连接服务，请检查网络或稍后再试。";
  if (status >= 500) return `服务暂时出错了（HTTP ${status}），请稍后再试。`;
  const detail = body && body.error ? body.error.message : `HTTP ${status}`;
  return `无法回答这个问题：${detail}`;
}

async function ask(question, reuse = null) {
  if (busy) return;
  busy = true;
  const input = $("question");
  const send = $("send");
  const history = conversation.map((e) => e.question).slice(-HISTORY_SENT);
  const questionNode = reuse ? reuse.question : userMessage(question);
  const pending = el("li", { class: "message bot busy", "aria-busy": "true" }, el("div", { class: "bubble", text: "正在查找" }));
  if (reuse) reuse.error.replaceWith(pending);
  else $("messages").append(questionNode, pending);
  $("welcome").hidden = true;
  reveal(questionNode);
  send.disabled = true;
  if (!reuse) {
    input.value = "";
    composerChanged();
  }
  const started = performance.now();
  let status = 0;
  let body = null;
  try {
    const response = await fetch("/api/ask", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question, top_k: 5, history }),
    });
    status = response.status;
    body = await response.json().catch(() => null);
  } catch {
    status = 0;
  }
  if (status === 200 && body) {
    const entry = { question, result: body, ms: Math.round(performance.now() - started) };
    conversation.push(entry);
    save();
    pending.replaceWith(renderAnswer(entry, history, save, ++answerCounter));
    noticeGeneration(body.generation);
  } else {
    // Not kept in the history: a retry asks again, and a reload does not show it.
    const retry = el("button", { type: "button", class: "quiet", text: "重试" });
    const error = el("li", { class: "message error", role: "alert" },
      el("div", { class: "bubble" }, el("span", { text: errorMessage(status, body) }), " ", retry));
    retry.addEventListener("click", () => ask(question, { question: questionNode, error }));
    pending.replaceWith(error);
    if (status === 0 || status >= 500) showStatus();
  }
  busy = false;
  send.disabled = false;
  input.focus({ preventScroll: true });
  reveal(questionNode);
}

function describeIndex(h) {
  const built = h.built_at ? new Date(h.built_at).toLocaleString("zh-CN") : "";
  return `索引 ${h.generation} · ${h.counts.articles} 篇文章 · 构建于 ${built}`;
}

function notice(text) {
  const box = $("notice");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

function indexChanged(h) {
  if (known && known.generation !== h.generation) {
    const delta = h.counts.articles - known.articles;
    notice(delta > 0 ? `已更新：新增 ${delta} 篇文章` : delta < 0 ? `已更新：减少 ${-delta} 篇文章` : `已更新：索引 ${h.generation}`);
    loadOverview(h);
  }
  known = { generation: h.generation, articles: h.counts.articles };
}

async function showStatus() {
  const footer = $("status");
  try {
    const r = await fetch("/api/health", { cache: "no-store" });
    const h = await r.json();
    footer.classList.remove("down");
    if (h.ready) {
      footer.textContent = describeIndex(h);
      indexChanged(h);
      return h;
    }
    footer.classList.add("down");
    footer.textContent = `索引尚未就绪：${h.message || ""}（请运行 ${h.fix || "qa-service index"}）`;
  } catch {
    footer.classList.add("down");
    footer.textContent = "无法连接服务，正在重试… / cannot reach the service";
  }
  return null;
}

function noticeGeneration(generation) {
  if (known && generation && generation !== known.generation) showStatus();
}

// The welcome screen: what the corpus holds, and example questions made for it.
async function loadOverview(h) {
  if (!h) return;
  $("corpus-count").textContent = `当前收录 ${h.counts.articles} 篇文章。`;
  const examples = $("examples");
  examples.replaceChildren(...(h.examples || []).map((q) => el("button", {
    type: "button", class: "example", role: "listitem", text: q, onclick: () => ask(q),
  })));
  examples.hidden = !(h.examples || []).length;
  try {
    const r = await fetch("/api/articles?sort=newest&per_page=10");
    const body = await r.json();
    // A republished copy is the same article: the welcome names it once.
    const originals = body.articles.filter((a) => !a.copy_of).slice(0, 3);
    $("newest").replaceChildren(...originals.map((a) => el("li", {},
      el("span", { text: `《${a.title}》` }), a.date ? el("span", { class: "meta", text: ` ${dateLabel(a)}` }) : null)));
  } catch {
    $("newest").replaceChildren();
  }
}

function composerChanged() {
  const area = $("question");
  area.style.height = "auto";
  if (area.value) area.style.height = `${Math.min(area.scrollHeight, 160)}px`;
  else area.style.height = "";
  const counter = $("counter");
  const n = area.value.length;
  counter.hidden = n < COUNTER_FROM;
  counter.textContent = n >= MAX_CHARS ? `${n} / ${MAX_CHARS}，已达上限` : `${n} / ${MAX_CHARS}`;
  counter.classList.toggle("full", n >= MAX_CHARS);
}

function submitCurrent() {
  const question = $("question").value.trim();
  if (question && !busy) ask(question);
}

function setUpClear() {
  const button = $("clear-history");
  let armed = null;
  const disarm = () => {
    clearTimeout(armed);
    armed = null;
    button.textContent = "清空记录";
    button.classList.remove("confirm");
  };
  button.addEventListener("click", () => {
    if (!armed) {
      button.textContent = "确认清空？";
      button.classList.add("confirm");
      armed = setTimeout(disarm, 4000);
      return;
    }
    disarm();
    conversation = [];
    save();
    $("messages").replaceChildren();
    $("welcome").hidden = false;
    $("question").focus();
  });
  button.addEventListener("blur", disarm);
}

function setUpPlaceholder() {
  // Phones have no Shift key to speak of, and a narrow box clips a long hint.
  const phone = window.matchMedia("(max-width: 600px), (pointer: coarse)");
  const apply = () => {
    $("question").placeholder = phone.matches ? "输入问题" : "输入问题，回车发送，Shift+回车换行";
  };
  apply();
  phone.addEventListener("change", apply);
}

function setUpTopbarOffset() {
  const apply = () => document.documentElement.style.setProperty(
    "--topbar-height", `${$("topbar").getBoundingClientRect().height}px`);
  apply();
  window.addEventListener("resize", apply);
}

document.addEventListener("DOMContentLoaded", async () => {
  setUpTopbarOffset();
  setUpPlaceholder();
  setUpArticleDialog();
  setUpClear();
  trackSelections();
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
  $("question").addEventListener("input", composerChanged);
  $("question").focus();
  const h = await showStatus();
  loadOverview(h);
  // Health while idle: the footer shows the index being served and whether the server is up.
  setInterval(() => { if (!busy && !document.hidden) showStatus(); }, HEALTH_EVERY_MS);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) showStatus(); });
});
