// An answer shaped like its question (answer.parts): a numbered list with a citation
// mark per item, an explanation paragraph, 是 / 否 / 文中没有明确说明 before its evidence,
// an article's summary or byline. Every part is the article's text at its offsets.
import { openArticle } from "./article.js";
import { citationLine, dateLabel, el } from "./dom.js";

const VERDICT_CLASS = { yes: "verdict-yes", no: "verdict-no", unstated: "verdict-unstated" };

// The ranges of an article's parts, for marking them in the article dialog.
export function partRanges(answer, articleId) {
  return (answer.parts || []).filter((p) => p.article && p.article.id === articleId)
    .map((p) => ({ start: p.char_start, end: p.char_end, cls: "answer" }));
}

// The citation mark after a part: its paragraph; a click opens the article at it.
function citeMark(answer, part, number) {
  return el("button", {
    type: "button", class: "cite-mark", title: citationLine(part.article, part.paragraph, part.page),
    "aria-label": `出处 ${number}：${citationLine(part.article, part.paragraph, part.page)}`,
    text: `[${part.article && part.article.id === (answer.article || {}).id ? "" : "《" + part.article.title + "》"}第${part.paragraph + 1}段]`,
    onclick: () => openArticle(part.article, partRanges(answer, part.article.id), part.char_start),
  });
}

function heading(answer) {
  const count = answer.count ? `（共${answer.count}项）` : "";
  if (answer.shape === "summary") return `《${answer.article.title}》的主要内容${count}：`;
  if (answer.shape === "parts") return "分别回答：";
  return count ? `共${answer.count}项：` : "";
}

// The nodes of a shaped answer, or null where it is a single span (shown as before).
export function shapedAnswer(answer) {
  const parts = answer.parts || [];
  if (!answer.shape || answer.shape === "factoid") return null;
  if (answer.shape === "about_article") return aboutArticle(answer);
  if (!parts.length) return null;
  const nodes = [];
  if (answer.shape === "yes_no") {
    nodes.push(el("p", { class: `verdict ${VERDICT_CLASS[answer.verdict] || ""}`, text: answer.verdict_label }));
    const part = parts[0];
    nodes.push(el("p", { class: "answer explanation" }, el("span", { class: "evidence-label meta", text: "依据：" }),
      part.text, " ", citeMark(answer, part, 1)));
    return nodes;
  }
  if (parts.length === 1 && answer.shape !== "summary" && !(answer.unanswered || []).length) {
    nodes.push(el("p", { class: "answer explanation" }, parts[0].text, " ", citeMark(answer, parts[0], 1)));
    return nodes;
  }
  const title = heading(answer);
  if (title) {
    const line = el("p", { class: "parts-heading", text: title });
    if (answer.shape === "summary") {
      line.append(" ", el("button", { type: "button", class: "quiet", text: "打开全文",
        onclick: () => openArticle(answer.article, partRanges(answer, answer.article.id)) }));
    }
    nodes.push(line);
  }
  const list = el("ol", { class: "answer-parts" });
  parts.forEach((part, i) => {
    list.append(el("li", {},
      ...(part.label ? [el("span", { class: "part-label", text: part.label }), " "] : []),
      part.text, " ", citeMark(answer, part, i + 1)));
  });
  nodes.push(list);
  if ((answer.unanswered || []).length) {
    nodes.push(el("p", { class: "unanswered meta", text: `没有找到：${answer.unanswered.join("；")}` }));
  }
  return nodes;
}

function aboutArticle(answer) {
  const article = answer.article;
  const open = el("button", { type: "button", class: "quiet", text: "打开全文",
    onclick: () => openArticle(article, partRanges(answer, article.id)) });
  if (answer.about === "authors") {
    const names = answer.parts.map((p) => p.text).join("、");
    return [el("p", { class: "answer" }, el("span", { class: "short-answer", text: names })),
      el("p", { class: "answer-cite meta" }, `作者署名 · ${citationLine(article, answer.parts[0].paragraph, answer.parts[0].page)} `, open)];
  }
  const value = answer.about === "date" ? (dateLabel(article) || "文章没有注明日期") : (article.source || "");
  const label = answer.about === "date" ? "日期" : "来源";
  return [el("p", { class: "answer" }, el("span", { class: "short-answer", text: value })),
    el("p", { class: "answer-cite meta" }, `${label} · 《${article.title}》 `, open)];
}
