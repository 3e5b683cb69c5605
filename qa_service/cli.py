"""The ``qa-service`` command line: build the index, ask questions, convert the model."""

from __future__ import annotations

import functools
import json
import sys
import textwrap
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from .config import SENTENCE_VECTOR_CHOICES, Settings
from .models import BUILTIN_MODEL, PRECISIONS, prefer_passive_waits


class CliError(click.ClickException):
    """Printed as the bare one-line message (click would prefix "Error: ")."""

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True, file=file)


def _known_errors() -> tuple[type[BaseException], ...]:
    from .answering import QuestionError
    from .index import BuildError, BuildLockedError, IndexMismatchError, IndexNotReadyError
    from .models import EncoderError, ReaderError

    return (EncoderError, BuildLockedError, BuildError, IndexMismatchError, IndexNotReadyError,
            QuestionError, ReaderError, FileNotFoundError, PermissionError)


def reports_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into a one-line message and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except _known_errors() as exc:
            raise CliError(f"qa-service: {exc}") from exc
        except OSError as exc:
            raise CliError(f"qa-service: {exc}") from exc

    return wrapper


def index_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--model", envvar="QA_MODEL", default=BUILTIN_MODEL, show_default=True,
                        show_envvar=True,
                        help="sentence-transformers model name or folder.")(func)
    func = click.option("--model-cache", envvar="QA_MODEL_CACHE", type=click.Path(path_type=Path),
                        default=None, show_envvar=True,
                        help="Where the built-in model is materialised "
                        "[default: ~/.cache/qa-service/models].")(func)
    func = click.option("--precision", envvar="QA_PRECISION", type=click.Choice(PRECISIONS),
                        default="auto", show_default=True, show_envvar=True,
                        help="Encoder precision; auto is bf16 where the CPU has native bf16.")(func)
    func = click.option("--index-dir", envvar="QA_INDEX_DIR", type=click.Path(path_type=Path),
                        default=Path("embeddings"), show_default=True, show_envvar=True)(func)
    func = click.option("--torch-threads", envvar="QA_TORCH_THREADS", type=click.IntRange(0, 1024),
                        default=0, show_default=True, show_envvar=True,
                        help="torch threads; 0: every core this process may use for a build, "
                        "the idle ones for the reader, one for encoding a question.")(func)
    return func


def _settings(**values: Any) -> Settings:
    return Settings.from_env(**values)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Question answering over Chinese bulletin articles."""
    # Before any command imports torch: spinning OpenMP threads slow `ask` and builds
    # several-fold beside a busy process (models/threads.py).
    prefer_passive_waits()


@main.command()
@click.option("--corpus", "corpus_dir", envvar="QA_CORPUS_DIR", type=click.Path(path_type=Path),
              default=Path("corpus"), show_default=True, show_envvar=True)
@index_options
@click.option("--batch-size", envvar="QA_BATCH_SIZE", type=click.IntRange(1, 1024), default=32,
              show_default=True, show_envvar=True)
@click.option("--full", is_flag=True, help="Embed every article again instead of reusing vectors.")
@click.option("--rollback", is_flag=True, help="Switch back to the previous generation and stop.")
@click.option("--ray", "ray_address", envvar="QA_RAY_ADDRESS", default="", metavar="auto|local|ADDRESS",
              show_envvar=True,
              help="Embed and OCR on a Ray cluster (pip install 'qa-service[ray]'): auto joins the one "
                   "`ray start` runs here, local starts one in this process, or a cluster address.")
@click.option("--ray-actors", envvar="QA_RAY_ACTORS", type=click.IntRange(0, 100_000), default=0,
              show_default=True, show_envvar=True,
              help="Embedding actors on the cluster (0: one per --ray-actor-cpus CPUs).")
@click.option("--ray-actor-cpus", envvar="QA_RAY_ACTOR_CPUS", type=click.IntRange(1, 1024), default=1,
              show_default=True, show_envvar=True, help="CPUs (torch threads) per embedding actor.")
@click.option("--sentence-vectors", envvar="QA_SENTENCE_VECTORS", type=click.Choice(SENTENCE_VECTOR_CHOICES),
              default="auto", show_default=True, show_envvar=True,
              help="Embed every sentence too, for answering without the reader (about twice the "
                   "embedding work); auto: only when QA_READER_WEIGHTS is none.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@reports_errors
def index(corpus_dir: Path, model: str, model_cache: Path | None, precision: str, index_dir: Path,
          torch_threads: int, batch_size: int, full: bool, rollback: bool, ray_address: str,
          ray_actors: int, ray_actor_cpus: int, sentence_vectors: str, as_json: bool) -> None:
    """Build the index from the corpus folder and switch to it atomically.

    Only new and changed articles are embedded; unchanged ones keep their vectors.
    """
    from .index import build_index, check_build_settings, generations
    from .models import load_encoder

    settings = _settings(corpus_dir=corpus_dir, model=model, model_cache=model_cache,
                         precision=precision, index_dir=index_dir, batch_size=batch_size,
                         torch_threads=torch_threads, ray_address=ray_address.strip(),
                         ray_actors=ray_actors, ray_actor_cpus=ray_actor_cpus,
                         sentence_vectors=sentence_vectors)
    if rollback:
        previous, current = generations.rollback(settings.index_dir)
        message = {"generation": previous, "rolled_back_from": current}
        click.echo(json.dumps(message) if as_json else f"now serving {previous} (was {current})")
        return
    check_build_settings(settings)  # a wrong cluster address fails now, not after loading the model
    encoder = load_encoder(settings, questions=False)  # a build embeds passages only
    summary = build_index(settings, encoder, show_progress=not as_json, full=full)
    click.echo(json.dumps(summary.to_dict(), ensure_ascii=False) if as_json else summary.describe())


@main.command()
@click.argument("question")
@index_options
@click.option("--top-k", "-k", envvar="QA_TOP_K", type=click.IntRange(1, 100), default=5,
              show_default=True, show_envvar=True)
@click.option("--history", multiple=True, metavar="QUESTION",
              help="An earlier question of the conversation (repeat, oldest first).")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default="hybrid",
              show_default=True, help="Retrieval method.")
@click.option("--reader-weights", envvar="QA_READER_WEIGHTS", default="builtin", show_default=True,
              show_envvar=True, help="The reader that points at the exact answer: builtin, a weights "
              "file, or none (answer with the best sentence).")
@click.option("--date-from", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Only articles dated on or after this day (YYYY-MM-DD).")
@click.option("--date-to", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Only articles dated on or before this day (YYYY-MM-DD).")
@click.option("--source", default=None, help="Only articles whose source or file contains this text.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The day 今年, 上个月 and the like are read against (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@reports_errors
def ask(question: str, model: str, model_cache: Path | None, precision: str, index_dir: Path,
        torch_threads: int, top_k: int, history: tuple[str, ...], mode: str, reader_weights: str,
        date_from: datetime | None, date_to: datetime | None, source: str | None,
        today: datetime | None, as_json: bool) -> None:
    """Ask QUESTION; with QUESTION '-', read one question per line and write JSON lines."""
    from .answering import Filters, QuestionError, Retriever, load_configured_reader
    from .index import load_index
    from .models import QUESTION_THREADS, load_encoder, use_threads

    settings = _settings(model=model, model_cache=model_cache, precision=precision,
                         index_dir=index_dir, torch_threads=torch_threads, reader_weights=reader_weights)
    loaded = load_index(settings.index_dir)  # before the model: a missing index fails fast
    encoder = load_encoder(settings)
    reader, reader_settings = load_configured_reader(settings.reader_weights, settings.model_cache,
                                                     settings.precision, settings.torch_threads)
    retriever = Retriever(loaded, encoder, reader=reader, reader_settings=reader_settings)
    # One question at a time: one thread is fastest unless a count is asked for (threads.py).
    use_threads(settings.torch_threads or QUESTION_THREADS)
    filters = Filters(date_from.date() if date_from else None, date_to.date() if date_to else None,
                      source or None)
    day = today.date() if today else None
    if question == "-":
        for line in sys.stdin:
            line = line.rstrip("\n")
            try:
                result = retriever.ask(line, top_k, list(history), mode,  # type: ignore[arg-type]
                                       filters=filters, today=day)
            except QuestionError as exc:
                result = {"question": line, "error": str(exc), "passages": []}
            click.echo(json.dumps(result, ensure_ascii=False))
        return
    result = retriever.ask(question, top_k, list(history), mode,  # type: ignore[arg-type]
                           filters=filters, today=day)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(format_answer(result))


def format_answer(result: dict) -> str:
    lines = [f"问题 / question: {result['question']}  ({result['took_ms']:.0f} ms)"]
    if result.get("understood_as"):  # a follow-up, read with the question before it
        lines.append(f"按上文理解为 / read as: {result['understood_as']}")
    when = result.get("time_range")
    if when:
        lines.append(f"检索范围 / time: {when['start']} 至 {when['end']}（{when['text']}）")
    named = result.get("named_articles")
    if named:  # the question named these articles by title: only they were searched
        titles = "、".join(f"《{a['title']}》" for a in named)
        lines.append(f"检索文章 / article: {titles}")
    answer = result.get("answer")
    if result.get("found") and answer:
        lines += answer_lines(answer)
    else:
        lines.append(f"{result.get('message') or '没有找到 / nothing found'}")
    if not result["passages"]:
        lines.append("没有找到相关段落 / no passages")
    for p in result["passages"]:
        article = p["article"]
        lines.append(f"[{p['rank']}] {p['score']:.3f}  《{article['title']}》 {article['source']}"
                     f" ¶{p['paragraph']} [{p['char_start']}:{p['char_end']}]"
                     f"{'  ' + date_label(article) if article.get('date') else ''}")
        # Chinese characters are two columns wide: 40 of them fill an 80-column terminal.
        lines.append(textwrap.indent(textwrap.fill(p["text"], width=40), "    "))
    return "\n".join(lines)


SHAPE_HEADINGS = {"list": "答案 / answer (list)", "parts": "答案 / answer (parts)",
                  "summary": "概括 / summary", "explanation": "答案 / answer"}


def cite(part: dict) -> str:
    """Where a part stands: 《title》 ¶paragraph [start:end]."""
    title = (part.get("article") or {}).get("title", "")
    return f"《{title}》 ¶{part['paragraph']} [{part['char_start']}:{part['char_end']}]"


def answer_lines(answer: dict) -> list[str]:
    """The answer as its shape asks: a span, a verdict with its evidence, numbered items or
    parts (each cited), a summary of a named article, or an article's byline."""
    shape, parts = answer.get("shape") or "factoid", answer.get("parts") or []
    if shape == "factoid" or (not parts and shape != "about_article"):
        lines = [f"答案 / answer: {answer['text']}  [{answer['passage_rank']}]"]
        sentence = (answer.get("sentence") or {}).get("text")
        if sentence and sentence != answer["text"]:
            lines.append(f"原句 / sentence: {sentence}")
        return lines
    if shape == "yes_no":
        return [f"判断 / verdict: {answer['verdict_label']}",
                f"依据 / evidence: {parts[0]['text']}  {cite(parts[0])}"]
    if shape == "about_article":
        article = answer.get("article") or {}
        if answer.get("about") == "authors":
            names = "、".join(p["text"] for p in parts)
            return [f"作者 / authors: {names}  {cite(parts[0])}"]
        if answer.get("about") == "date":
            when = date_label(article) if article.get("date") else "未注明 / not stated"
            return [f"日期 / date: 《{article.get('title', '')}》 {when}"]
        return [f"来源 / source: 《{article.get('title', '')}》 {article.get('source', '')}"]
    heading = SHAPE_HEADINGS.get(shape, "答案 / answer")
    if shape == "summary":
        heading += f": 《{(answer.get('article') or {}).get('title', '')}》"
    if answer.get("count"):
        heading += f"（共{answer['count']}项）"
    missing = answer.get("unanswered") or []
    if len(parts) == 1 and not missing:
        return [f"{heading}: {parts[0]['text']}  {cite(parts[0])}"]
    lines = [f"{heading}:"]
    for number, part in enumerate(parts, start=1):
        label = f"{part['label']} " if part.get("label") else ""
        lines.append(f"  {number}. {label}{part['text']}  {cite(part)}")
    lines += [f"  没有找到 / not found: {asked}" for asked in missing]
    return lines


# Where a date that the article does not state outright came from (the chat page says the same).
DATE_ORIGINS = {"file_mtime": "文件日期 / file date", "text": "据正文 / from the text"}


def date_label(article: dict) -> str:
    """The article's date, marked where it is the file's time or read from the text."""
    origin = DATE_ORIGINS.get(article.get("date_source") or "")
    return f"{article['date']}（{origin}）" if origin else str(article["date"])


@main.command()
@click.option("--host", envvar="QA_HOST", default="127.0.0.1", show_default=True, show_envvar=True)
@click.option("--port", envvar="QA_PORT", type=click.IntRange(1, 65535), default=8000, show_default=True,
              show_envvar=True)
@click.option("--workers", envvar="QA_WORKERS", type=click.IntRange(1, 64), default=2, show_default=True,
              show_envvar=True, help="gunicorn worker processes (each loads the model).")
@click.option("--threads", envvar="QA_THREADS", type=click.IntRange(1, 64), default=4, show_default=True,
              show_envvar=True, help="Request threads per worker.")
@click.option("--debug", is_flag=True, help="Flask's development server with reloading, not gunicorn.")
@reports_errors
def serve(host: str, port: int, workers: int, threads: int, debug: bool) -> None:
    """Serve the chat page and the JSON API (index dir, model: QA_INDEX_DIR, QA_MODEL)."""
    if debug:
        from .web import create_app

        create_app().run(host=host, port=port, debug=True)
        return
    from .server import serve as run_gunicorn

    run_gunicorn(host, port, workers, threads)


@main.group()
def feedback() -> None:
    """What users said of answers (👍 / 👎 in the chat page)."""


@feedback.command("export")
@click.option("--corpus", "corpus_dir", envvar="QA_CORPUS_DIR", type=click.Path(path_type=Path),
              default=Path("corpus"), show_default=True, show_envvar=True,
              help="The feedback database lies beside this folder.")
@click.option("--db", envvar="QA_FEEDBACK_DB", type=click.Path(path_type=Path), default=None,
              show_envvar=True, help="The feedback database (default: feedback.sqlite3 beside the corpus).")
@click.option("--out", "-o", type=click.Path(path_type=Path, allow_dash=True), default=Path("-"),
              show_default=True, help="JSONL file to write (-: standard output).")
def feedback_export(corpus_dir: Path, db: Path | None, out: Path) -> None:
    """Write feedback as test questions in the format of benchmarks/bulletin_questions.jsonl.

    👍 on an answer confirms it, 👍 on "not found" makes an unanswerable question, 👎 with
    the right text selected makes a question with that answer; 👎 alone is counted, not
    written. Run them with `benchmarks/answers.py --sections bulletins --questions FILE`.
    """
    import sqlite3

    from .corpus import atomic_write_text
    from .feedback import FeedbackStore, default_feedback_db, export_test_questions

    path = db or default_feedback_db(corpus_dir)
    if not path.is_file():
        raise CliError(f"qa-service: no feedback database at {path} (nothing rated yet? set --db or "
                       "QA_FEEDBACK_DB)")
    try:
        rows, skipped = export_test_questions(FeedbackStore(path))
    except sqlite3.DatabaseError as exc:
        raise CliError(f"qa-service: {path} is not a readable feedback database: {exc}") from exc
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if str(out) == "-":
        click.echo(text, nl=False)
    else:
        # An existing file is replaced whole or not at all.
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, text)
    click.echo(f"{len(rows)} test questions from {path}; {skipped} 👎 without the right text not "
               "exported", err=True)


@main.command("model")
@click.option("--model-cache", envvar="QA_MODEL_CACHE", type=click.Path(path_type=Path), default=None,
              show_envvar=True)
@reports_errors
def model_command(model_cache: Path | None) -> None:
    """Materialise the built-in multilingual-e5-small and print its folder."""
    from .models import materialize_builtin_model

    click.echo(str(materialize_builtin_model(_settings(model_cache=model_cache).model_cache)))


if __name__ == "__main__":  # pragma: no cover
    main()
