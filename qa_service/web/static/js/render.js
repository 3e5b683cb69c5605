// One answer in the conversation: the short answer with its citation, the card that
// holds it (its context), the other sources, copy and feedback.
import { openArticle, fetchArticle } from "./article.js";
import { citationLine, copiesLabel, copyText, el, highlighted, roving } from "./dom.js";
import { feedbackControls } from "./feedback.js";
import { partRanges, shapedAnswer } from "./shaped.js";

// Highlights of a passage: the answer (inside its sentence) in the card that holds it,
// or every part of a shaped answer (list items, an explanation, a summary) that stands in
// it; elsewhere a faint mark of the passage's best sentence, and only when found.
function rangesOf(p, result) {
  if (!result.found) return [];
  const shape = result.answer && result.answer.shape;
  if (shape && shape !== "factoid" && (p.answer_parts || []).length) {
    return p.answer_parts.map(([start, end]) => ({ start, end, cls: "answer" }));
  }
  if (p.answer_span) {
    const ranges = [];
    if (p.highlight) ranges.push({ start: p.highlight[0], end: p.highlight[1], cls: "sentence" });
    ranges.push({ start: p.answer_span[0], end: p.answer_span[1], cls: "answer" });
    return ranges;
  }
  if (p.highlight) return [{ start: p.highlight[0], end: p.highlight[1], cls: "faint" }];
  return [];
}

// What the article dialog marks: all of a shaped answer's parts in that article.
function dialogRanges(p, result, ranges) {
  const shape = result.found && result.answer && result.answer.shape;
  if (shape && shape !== "factoid") {
    const parts = partRanges(result.answer, p.article.id);
    if (parts.length) return parts;
  }
  return ranges;
}

async function toggleParagraph(p, ranges, card, button) {
  const existing = card.querySelector(".paragraph");
  const short = card.querySelector(".source-text");
  if (existing) {
    existing.remove();
    short.hidden = false;
    button.textContent = "展开段落";
    button.setAttribute("aria-expanded", "false");
    return;
  }
  try {
    const article = await fetchArticle(p.article.id);
    const para = article.paragraphs[p.paragraph];
    const last = article.paragraphs.find((q) => q.end >= p.char_end) || para;
    const node = el("p", { class: "source-text paragraph selectable", "data-article": article.id,
      "data-offset": String(para.start) }, highlighted(article.text.slice(para.start, last.end), para.start, ranges));
    short.hidden = true;
    short.after(node);
    button.textContent = "收起段落";
    button.setAttribute("aria-expanded", "true");
  } catch (err) {
    card.append(el("p", { class: "notfound", text: `无法加载段落：${err.message}` }));
  }
}

function sourceCard(p, result, answerId) {
  const ranges = rangesOf(p, result);
  const holds = result.found && (p.answer_span || (p.answer_parts || []).length);
  const card = el("li", { class: "source" + (holds ? " holds-answer" : ""), id: `${answerId}-src-${p.rank}` });
  const expand = el("button", { type: "button", "aria-expanded": "false", text: "展开段落" });
  expand.addEventListener("click", () => toggleParagraph(p, ranges, card, expand));
  const copy = el("button", { type: "button", text: "复制出处" });
  copy.addEventListener("click", () => copyText(`${p.text}\n——${citationLine(p.article, p.paragraph, p.page)}`, copy));
  // The full article marks what the card marks: the answer in its sentence, or the best sentence.
  const open = el("button", { type: "button", text: "打开全文",
    onclick: () => openArticle(p.article, dialogRanges(p, result, ranges)) });
  card.append(
    el("div", { class: "source-head" },
      el("span", { class: "source-num", text: `[${p.rank}]` }),
      // The card holding the answer cites the answer's page; others the page they start on.
      el("span", { class: "source-cite", text: citationLine(p.article, p.paragraph, holds ? result.answer.page : p.page) })),
    ...(copiesLabel(p.article) ? [el("p", { class: "copies meta", text: copiesLabel(p.article) })] : []),
    el("p", { class: "source-text selectable", "data-article": p.article.id, "data-offset": String(p.char_start) },
      highlighted(p.text, p.char_start, ranges)),
    el("div", { class: "source-actions" }, expand, open, copy));
  return card;
}

function sourceList(passages, result, answerId) {
  const list = el("ol", { class: "sources", "aria-label": "出处 / Sources" });
  passages.forEach((p) => list.append(sourceCard(p, result, answerId)));
  return list;
}

// 检索范围: the days the question's time words were read as, and against what.
export function timeRangeLine(range) {
  let line = `检索范围：${range.start} 至 ${range.end}（“${range.text}”`;
  line += range.basis === "article" ? `，按文章日期 ${range.base} 理解）` : "）";
  if (!range.matched) line += "；没有这一时段的文章，以下是其他时间的结果";
  return line;
}

function answerCopyText(result) {
  const a = result.answer;
  if (a.parts && a.parts.length && a.shape !== "factoid") {
    const lines = a.parts.map((p, i) => `${i + 1}. ${p.label ? p.label + " " : ""}${p.text}——${citationLine(p.article, p.paragraph, p.page)}`);
    return [a.verdict_label, ...lines].filter(Boolean).join("\n");
  }
  const text = a.kind === "span" || !a.sentence ? a.text : a.sentence.text;
  return `${text}\n——${citationLine(a.article, a.paragraph, a.page)}`;
}

// `entry`: {question, result, ms, feedback}; `history`: the questions sent with it.
export function renderAnswer(entry, history, onChange, number) {
  const result = entry.result;
  const id = `a${number}`;
  const bubble = el("div", { class: "bubble" });
  const node = el("li", { class: "message bot", id }, bubble);
  if (result.understood_as) {
    bubble.append(el("p", { class: "understood meta", text: `按上文理解为：${result.understood_as}` }));
  }
  if (result.found && result.answer && result.answer.read_as) {
    bubble.append(el("p", { class: "understood meta", text: `按词表理解为：${result.answer.read_as}` }));
  }
  if (result.time_range) bubble.append(el("p", { class: "time-range meta", text: timeRangeLine(result.time_range) }));
  if (result.named_articles) {
    const titles = result.named_articles.map((a) => `《${a.title}》`).join("、");
    bubble.append(el("p", { class: "named-articles meta", text: `检索文章：${titles}` }));
  }
  const toolbar = el("div", { class: "answer-actions", role: "toolbar", "aria-label": "答案操作 / Answer actions" });
  if (result.found && result.answer) {
    const a = result.answer;
    const shaped = shapedAnswer(a);
    if (shaped) {
      bubble.append(...shaped);
    } else {
      const shown = a.kind === "span" ? a.text : a.sentence.text;
      bubble.append(el("p", { class: "answer" }, el("span", { class: "short-answer", text: shown })),
        el("p", { class: "answer-cite meta", text: `出处 [${a.passage_rank}] ${citationLine(a.article, a.paragraph, a.page)}` }));
    }
    // The newest article's answer is shown; older articles that say otherwise are named.
    for (const o of a.older || []) {
      bubble.append(el("p", { class: "older meta",
        text: `较早的文章另有说法：${o.text}（《${o.article.title}》${o.article.date ? ` ${o.article.date}` : ""}）` }));
    }
    const copy = el("button", { type: "button", class: "quiet", text: "复制答案" });
    copy.addEventListener("click", () => copyText(answerCopyText(result), copy));
    toolbar.append(copy);
  } else {
    // Said once; the nearest passages are there for the curious, folded and unmarked.
    bubble.append(el("p", { class: "answer notfound",
      text: result.message && !result.message.startsWith("没有在文章中找到") ? result.message : "没有在文章中找到可靠的答案。" }));
  }
  const feedback = feedbackControls(entry, history, onChange);
  toolbar.append(feedback.up, feedback.down);
  const took = entry.ms != null ? `用时 ${(entry.ms / 1000).toFixed(2)} 秒` : "";
  bubble.append(el("div", { class: "answer-foot" }, toolbar, el("span", { class: "meta took", text: took }), feedback.status),
    feedback.panel);
  roving(toolbar, "button");

  const passages = [...result.passages].sort((x, y) => x.rank - y.rank);
  if (passages.length && result.found) {
    const list = sourceList(passages, result, id);
    bubble.append(list);
    roving(list, "button");
  } else if (passages.length) {
    const list = sourceList(passages, result, id);
    const more = el("details", { class: "nearest" }, el("summary", { text: `查看最接近的段落 (${passages.length})` }), list);
    bubble.append(more);
    roving(list, "button");
  }
  return node;
}
