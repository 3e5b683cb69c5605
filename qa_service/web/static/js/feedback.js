// 👍 / 👎 on an answer. On 👎 the user may select the right text in a source card or the
// full article; what is sent is that selection as article offsets, checked by the server.
import { el, thumb } from "./dom.js";

let lastSelection = null;
const listeners = new Set();

// Text in an element marked .selectable, with data-article and data-offset (the article
// offset of its first character), as article offsets.
function selectionInArticle() {
  const selection = window.getSelection();
  if (!selection || selection.isCollapsed || !selection.rangeCount) return null;
  const range = selection.getRangeAt(0);
  const holder = (node) => (node.nodeType === 1 ? node : node.parentElement)?.closest(".selectable");
  const box = holder(range.startContainer);
  if (!box || box !== holder(range.endContainer)) return null;
  const before = document.createRange();
  before.setStart(box, 0);
  before.setEnd(range.startContainer, range.startOffset);
  const start = Number(box.dataset.offset) + before.toString().length;
  const text = range.toString();
  if (!text.trim() || text.length > 1000) return null;
  return { article_id: box.dataset.article, char_start: start, char_end: start + text.length, text };
}

export function trackSelections() {
  document.addEventListener("selectionchange", () => {
    const found = selectionInArticle();
    if (!found) return;  // clicking a button must not forget what was selected
    lastSelection = found;
    listeners.forEach((listener) => listener(found));
  });
}

async function send(body) {
  const response = await fetch("/api/feedback", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const reply = await response.json().catch(() => null);
  if (!response.ok) throw new Error(reply && reply.error ? reply.error.message : `HTTP ${response.status}`);
  return reply;
}

// The 👍 / 👎 buttons of one answer, and the panel 👎 opens.
export function feedbackControls(entry, history, onChange = () => {}) {
  const result = entry.result;
  const base = {
    question: entry.question, history, found: result.found,
    answer: result.found && result.answer ? result.answer.text : null, generation: result.generation,
  };
  const up = el("button", { type: "button", class: "rate up", "aria-pressed": "false", "aria-label": "👍 答案有用 / Helpful",
    title: "答案有用" }, thumb());
  const down = el("button", { type: "button", class: "rate down", "aria-pressed": "false",
    "aria-label": "👎 答案不对 / Not right", title: "答案不对" }, thumb(true));
  const status = el("span", { class: "meta feedback-status", role: "status" });
  const picked = el("p", { class: "picked meta", text: "还没有选中文字。" });
  const submit = el("button", { type: "button", class: "quiet", text: "提交" });
  const cancel = el("button", { type: "button", class: "quiet", text: "取消" });
  const panel = el("div", { class: "feedback-panel", hidden: "" },
    el("p", { text: "答案在哪里？可以在下方段落或“打开全文”中选中正确的文字，再点“提交”；不选也可以直接提交。" }),
    picked, el("div", { class: "panel-actions" }, submit, cancel));
  let chosen = null;
  const onSelect = (selection) => {
    chosen = selection;
    picked.textContent = `已选中：「${selection.text}」`;
  };

  const done = (button, text) => {
    up.disabled = down.disabled = true;
    button.setAttribute("aria-pressed", "true");
    status.textContent = text;
    if (!entry.feedback) {
      entry.feedback = button === up ? "up" : "down";
      onChange();
    }
  };
  up.addEventListener("click", async () => {
    try {
      await send({ ...base, rating: "up" });
      done(up, "谢谢反馈！");
    } catch (err) {
      status.textContent = `反馈没有发送成功：${err.message}`;
    }
  });
  down.addEventListener("click", () => {
    panel.hidden = false;
    chosen = null;
    picked.textContent = lastSelection ? "请选中正确的文字（之前的选择不算）。" : "还没有选中文字。";
    listeners.add(onSelect);
    submit.focus();
  });
  cancel.addEventListener("click", () => {
    panel.hidden = true;
    listeners.delete(onSelect);
    down.focus();
  });
  submit.addEventListener("click", async () => {
    try {
      await send({ ...base, rating: "down", selection: chosen });
      listeners.delete(onSelect);
      panel.hidden = true;
      done(down, chosen ? "谢谢，已记下正确答案。" : "谢谢反馈！");
    } catch (err) {
      picked.textContent = `没有发送成功：${err.message}`;
    }
  });
  if (entry.feedback) done(entry.feedback === "up" ? up : down, "已反馈");
  return { up, down, status, panel };
}
