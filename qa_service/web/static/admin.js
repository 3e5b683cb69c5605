// The admin page: upload files, rebuild with live progress, list, edit and delete
// articles, read feedback. The token lives in sessionStorage (this tab only) and is sent
// only as an Authorization header: never in a URL, never in a cookie.
import { $, el } from "./js/dom.js";

const TOKEN_KEY = "qa-admin-token";
const PER_PAGE = 50;
let page = 1;
let polling = null;

const token = () => sessionStorage.getItem(TOKEN_KEY) || "";

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${token()}` };
  const response = await fetch(path, { ...options, headers });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(body && body.error ? body.error.message : `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function showConsole(on) {
  $("login").hidden = on;
  $("console").hidden = !on;
  $("logout").hidden = !on;
}

async function login(candidate) {
  sessionStorage.setItem(TOKEN_KEY, candidate);
  try {
    await api("/api/index/status");
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    const box = $("login-error");
    box.textContent = err.status === 401 ? "令牌不对。" : err.status === 403
      ? "服务器没有开启管理功能（请设置 QA_ADMIN_TOKEN）。" : `无法登录：${err.message}`;
    box.hidden = false;
    showConsole(false);
    return;
  }
  $("login-error").hidden = true;
  showConsole(true);
  refreshAll();
}

function seconds(value) {
  if (value == null || !Number.isFinite(value)) return "";
  return value >= 60 ? `${Math.floor(value / 60)} 分 ${Math.round(value % 60)} 秒` : `${Math.round(value)} 秒`;
}

const PHASES = { files: "读取文件", chunks: "嵌入段落块", sentences: "嵌入句子" };

function showStatus(status) {
  const served = status.served;
  if (served) {
    $("served").textContent = `当前索引 ${served.generation} · ${served.counts.articles ?? "?"} 篇文章 · `
      + `${served.counts.chunks ?? "?"} 个段落块 · 构建于 ${new Date(served.built_at).toLocaleString("zh-CN")}`;
  }
  const running = status.state === "running";
  $("rebuild").disabled = running;
  $("progress-box").hidden = !running;
  if (running) {
    const phases = Object.entries(status.progress || {});
    const [phase, p] = phases.length ? phases[phases.length - 1] : ["files", { done: 0, total: 1 }];
    $("progress").max = Math.max(1, p.total);
    $("progress").value = p.done;
    const left = p.eta_seconds != null ? ` · 剩余约 ${seconds(p.eta_seconds)}` : "";
    $("progress-text").textContent = `${PHASES[phase] || phase} ${p.done}/${p.total}${left}`;
  }
  const report = $("build-report");
  const parts = [];
  if (status.state === "succeeded" && status.summary) {
    const s = status.summary;
    parts.push(el("p", { class: "ok", text: `上次重建完成（${s.generation}，用时 ${seconds(status.seconds)}）：新增 ${s.articles_added}，`
      + `修改 ${s.articles_changed}，删除 ${s.articles_removed}，沿用 ${s.articles_reused} 篇；嵌入 ${s.chunks_embedded} 个段落块`
      + (s.copies ? `；转载 ${s.copies} 篇，只检索原文` : "")
      + (s.ray_address ? `；在 Ray 集群（${s.ray_address}）上嵌入，最多 ${s.ray_actors} 个嵌入进程（actor）` : "") + "。" }));
  } else if (status.state === "failed") {
    parts.push(el("p", { class: "error", text: `上次重建失败：${status.error || ""}` }));
  }
  const skipped = (served && served.skipped_files) || [];
  if (skipped.length) {
    parts.push(el("p", { text: `跳过的文件（${skipped.length}）：` }),
      el("ul", { class: "results" }, ...skipped.map((f) => el("li", { text: `${f.source}：${f.reason}` }))));
  }
  const ocr = (served && served.ocr_files) || [];
  if (ocr.length) {
    parts.push(el("p", { text: "经过文字识别（OCR）的文件：" }),
      el("ul", { class: "results" }, ...ocr.map((f) => el("li", {
        text: `${f.source}：${f.ocr_pages.length}/${f.pages} 页，用时 ${f.seconds} 秒`
          + (f.empty_pages.length ? `；第 ${f.empty_pages.join("、")} 页没有识别出文字` : ""),
      }))));
  }
  report.replaceChildren(...parts);
  if (running && !polling) polling = setInterval(pollStatus, 1000);
  if (!running && polling) {
    clearInterval(polling);
    polling = null;
    loadArticles();
  }
}

async function pollStatus() {
  try {
    showStatus(await api("/api/index/status"));
  } catch (err) {
    $("progress-text").textContent = `无法读取状态：${err.message}`;
  }
}

async function rebuild() {
  try {
    showStatus(await api("/api/index/rebuild", { method: "POST" }));
  } catch (err) {
    $("build-report").replaceChildren(el("p", { class: "error", text: `无法开始重建：${err.message}` }));
  }
}

async function upload(files) {
  const list = $("upload-results");
  const rebuildAfter = $("rebuild-after").checked;
  let uploaded = 0;
  for (const file of files) {
    const item = el("li", { text: `${file.name}：正在上传…` });
    list.prepend(item);
    const form = new FormData();
    form.append("file", file, file.name);
    try {
      const saved = await api("/api/articles", { method: "POST", body: form });
      item.textContent = `${file.name}：已保存为 ${saved.files[0]}`;
      item.className = "ok";
      uploaded += 1;
    } catch (err) {
      item.textContent = `${file.name}：${err.message}`;
      item.className = "error";
    }
  }
  if (uploaded && rebuildAfter) rebuild();
}

function editRow(article, row) {
  const fields = ["title", "date", "source"].map((name) => {
    const input = el("input", { type: "text", value: article[name] || "", "aria-label": name });
    return [name, input];
  });
  const labels = { title: "标题", date: "日期", source: "来源" };
  const save = el("button", { type: "button", text: "保存并重建" });
  const cancel = el("button", { type: "button", class: "quiet", text: "取消" });
  const message = el("span", { class: "meta" });
  const editor = el("tr", { class: "edit-row" }, el("td", { colspan: "7" },
    ...fields.map(([name, input]) => el("label", {}, labels[name], input)), save, " ", cancel, " ", message));
  cancel.addEventListener("click", () => editor.remove());
  save.addEventListener("click", async () => {
    const body = Object.fromEntries(fields.map(([name, input]) => [name, input.value.trim()]));
    try {
      await api(`/api/articles/${article.id}?rebuild=1`, {
        method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      editor.remove();
      pollStatus();
    } catch (err) {
      message.textContent = err.message;
      message.className = "error";
    }
  });
  row.after(editor);
}

// Where each article's date came from, in the admin's words.
const DATE_SOURCES = { front_matter: "文件头", metadata: "网页元数据", text: "正文", file_mtime: "文件时间", edit: "编辑" };

// Under the title: the byline's authors and the summary chosen at build time (folded).
const SUMMARY_KINDS = { lead: "导语", heading: "小标题", key: "要点" };

function articleNotes(article) {
  const nodes = [];
  if ((article.authors || []).length) {
    nodes.push(el("div", { class: "authors meta", text: `作者：${article.authors.join("、")}` }));
  }
  if ((article.summary || []).length) {
    nodes.push(el("details", { class: "summary" }, el("summary", { text: "摘要" }),
      el("ol", {}, ...article.summary.map((p) => el("li", {},
        el("span", { class: "meta", text: `${SUMMARY_KINDS[p.kind] || p.kind} ` }), p.text)))));
  }
  return nodes;
}

function articleRow(article) {
  const origin = DATE_SOURCES[article.date_source];
  const row = el("tr", { "data-id": article.id },
    el("td", {}, el("span", { class: "article-title",
      text: article.copy_of ? `${article.title}（转载，不单独检索）` : article.title }), ...articleNotes(article)),
    el("td", { text: article.date ? `${article.date}${origin ? `（${origin}）` : ""}` : "" }),
    el("td", { text: article.source === article.file ? "" : article.source }),
    el("td", { text: article.format || "" }), el("td", { text: article.pages ?? "" }),
    el("td", { text: String(article.chunks) }));
  const edit = el("button", { type: "button", class: "quiet", text: "编辑" });
  const remove = el("button", { type: "button", class: "quiet", text: "删除" });
  edit.addEventListener("click", () => editRow(article, row));
  let armed = false;
  remove.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      remove.textContent = "确认删除？";
      setTimeout(() => { armed = false; remove.textContent = "删除"; }, 4000);
      return;
    }
    try {
      await api(`/api/articles/${article.id}?rebuild=1`, { method: "DELETE" });
      row.remove();
      pollStatus();
    } catch (err) {
      remove.textContent = "删除失败";
      remove.title = err.message;
    }
  });
  row.append(el("td", { class: "actions" }, edit, " ", remove));
  return row;
}

async function loadArticles() {
  const query = $("search").value.trim();
  try {
    const body = await api(`/api/articles?per_page=${PER_PAGE}&page=${page}&q=${encodeURIComponent(query)}`);
    $("articles").tBodies[0].replaceChildren(...body.articles.map(articleRow));
    const pages = Math.max(1, Math.ceil(body.total / PER_PAGE));
    $("page-info").textContent = `第 ${page}/${pages} 页，共 ${body.total} 篇`;
    $("prev").disabled = page <= 1;
    $("next").disabled = page >= pages;
  } catch (err) {
    $("page-info").textContent = `无法列出文章：${err.message}`;
  }
}

async function loadFeedback() {
  try {
    const body = await api("/api/feedback");
    $("feedback").tBodies[0].replaceChildren(...body.feedback.map((f) => el("tr", {},
      el("td", { text: new Date(f.created_at * 1000).toLocaleString("zh-CN") }),
      el("td", { text: f.rating === "up" ? "👍" : "👎" }), el("td", { text: f.question }),
      el("td", { text: f.found ? (f.answer || "") : "（没有找到）" }),
      el("td", { text: f.selection ? f.selection.text : "" }))));
  } catch (err) {
    $("feedback").tBodies[0].replaceChildren(el("tr", {}, el("td", { colspan: "5", text: err.message })));
  }
}

function refreshAll() {
  pollStatus();
  loadArticles();
  loadFeedback();
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    login($("token").value.trim());
    $("token").value = "";
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showConsole(false);
  });
  const drop = $("drop");
  drop.addEventListener("click", () => $("files").click());
  drop.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") $("files").click(); });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    upload([...event.dataTransfer.files]);
  });
  $("files").addEventListener("change", (event) => {
    upload([...event.target.files]);
    event.target.value = "";
  });
  $("rebuild").addEventListener("click", rebuild);
  let searchTimer = null;
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { page = 1; loadArticles(); }, 250);
  });
  $("prev").addEventListener("click", () => { page -= 1; loadArticles(); });
  $("next").addEventListener("click", () => { page += 1; loadArticles(); });
  if (token()) login(token());
  else showConsole(false);
});
