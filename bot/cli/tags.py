"""`qihu tags learn`, `eval`, `diff`, `apply`, `common`: keyword rules learned, measured, applied; common problems."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bot.cli.common import opened_app, settings_from
from bot.config import Settings
from bot.services.tagging import closed_examples, common_problems, pool_examples
from nlp.learn import Corpus, Example, LearnOptions, learn_rules, read_csv
from nlp.measure import cross_validate, evaluate
from nlp.rules import DEFAULT_RULES, KeywordRules
from nlp.rules_toml import diff_rules, dump_rules
from nlp.tokenizer import Tokenizer

LEARNED_HEADER = """Keyword rules learned by `qihu tags learn` ({source}); format: docs/tags.md.
Score of a category = prior + (sum of the weights of its keywords found in the text,
a keyword in the first head_chars characters counting (1 + head_boost) times,
minus the weights of its negative words) / norm; norm = sqrt(sum of (count * idf)^2).
Edit freely: raise, lower or delete a weight; add hand-written words to any table.
Strongest words come first in every table."""


def _learn_options(args: argparse.Namespace) -> LearnOptions:
    return LearnOptions(min_df=args.min_df, head_chars=args.head_chars,
                        head_boost=args.head_boost, seed=args.seed, max_keywords=args.max_keywords,
                        single_chars=args.single_chars)


def _base_rules(paths: list[str] | None) -> KeywordRules | None:
    return KeywordRules.load(*paths) if paths else None


def _read_examples(args: argparse.Namespace) -> list[Example]:
    examples: list[Example] = []
    if args.data:
        try:
            examples += read_csv(args.data, args.text_column, args.label_column)
        except (OSError, KeyError) as exc:
            raise SystemExit(f"cannot read {args.data}: {exc}") from None
    if getattr(args, "from_pool", False):
        examples += [Example(text, label) for text, label in asyncio.run(_pool_examples(settings_from(args)))]
    if getattr(args, "from_db", False):
        history = asyncio.run(_pool_examples(settings_from(args), closed=True))
        counts = Counter(label for _, label in history)
        few = sorted(label for label, n in counts.items() if n < args.min_count)
        if few:
            print(f"categories with fewer than {args.min_count} closed appeals left out: {', '.join(few)}",
                  file=sys.stderr)
        examples += [Example(text, label) for text, label in history if counts[label] >= args.min_count]
    if not examples:
        raise SystemExit("no labelled texts: give --data FILE.csv, --from-pool or --from-db")
    return examples


async def _pool_examples(settings: Settings, closed: bool = False) -> list[tuple[str, str]]:
    async with opened_app(settings, prepare=False, senders={}) as app, app.runtime.uow() as uow:
        return await (closed_examples(uow) if closed else pool_examples(uow))


def cmd_tags_learn(args: argparse.Namespace) -> None:
    examples = _read_examples(args)
    base = _base_rules(args.base or ([str(DEFAULT_RULES)] if args.from_db else None))  # merged with the seed
    options = _learn_options(args)
    tokenizer = Tokenizer(base.vocabulary() if base else ())
    corpus = Corpus.build(examples, tokenizer, options)
    source = " + ".join(filter(None, [Path(args.data).name if args.data else "",
                                      "pool" if args.from_pool else "", "closed appeals" if args.from_db else ""]))
    rules = learn_rules(corpus, None, options, base=base, source=source)
    Path(args.out).write_text(dump_rules(rules, LEARNED_HEADER.format(source=source)), encoding="utf-8")
    sizes = ", ".join(f"{label} {len(words)}" for label, words in rules.categories.items())
    print(f"learned from {len(examples)} texts, {len(rules.categories)} categories → {args.out}")
    print(f"keywords per category: {sizes}")
    if rules.scoring.temperature:
        print(f"calibrated: temperature {rules.scoring.temperature:g}")


def cmd_tags_diff(args: argparse.Namespace) -> None:
    try:
        old, new = KeywordRules.load(args.old), KeywordRules.load(args.new)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read rules: {exc}") from None
    print("\n".join(diff_rules(old, new)))


def cmd_tags_apply(args: argparse.Namespace) -> None:
    """Back up the configured rule file and put FILE in its place; a running server reloads it."""
    from datetime import datetime

    settings = settings_from(args)
    if not settings.nlp.rules_file:
        raise SystemExit("[nlp] rules_file is empty (the shipped seed rules are used): set it to the county's "
                         "rule file first, then apply")
    target = Path(settings.nlp.rules_file)
    try:
        new = KeywordRules.load(args.file)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read {args.file}: {exc}") from None
    if not new.categories:
        raise SystemExit(f"{args.file} has no categories: not applied")
    if target.exists():
        backup = target.with_name(f"{target.name}.{datetime.now().strftime('%Y%m%d-%H%M%S')}.bak")
        shutil.copy2(target, backup)
        print(f"backup: {backup}")
        print("\n".join(diff_rules(KeywordRules.load(target), new)))
    staging = target.with_name(target.name + ".new")
    shutil.copyfile(args.file, staging)
    staging.replace(target)  # atomic: the server never reads half a file
    print(f"applied {args.file} → {target}; a running server takes it up with its next message")




def cmd_tags_eval(args: argparse.Namespace) -> None:
    examples = _read_examples(args)
    if args.folds:
        if args.folds < 2 or args.folds > len(examples):
            raise SystemExit("--folds must be between 2 and the number of texts")
        progress = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
        report = cross_validate(examples, args.folds, _learn_options(args), base=_base_rules(args.rules),
                                progress=progress)
    else:
        if not args.rules:
            raise SystemExit("give --rules RULES.toml (or --folds K to learn and test by cross-validation)")
        report = evaluate(_base_rules(args.rules), examples)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print(report.as_text())


def cmd_tags_common(args: argparse.Namespace) -> None:
    settings = settings_from(args)

    async def main() -> None:
        async with opened_app(settings, prepare=False, senders={}) as app, app.runtime.uow() as uow:
            groups = await common_problems(uow, args.threshold)
        if not groups:
            print("没有发现多家企业反映的同类问题。")
        for g in groups:
            cats = "、".join(g.categories)
            print(f"{len(g.numbers)} 件 / {len(g.enterprises)} 家企业（{cats}）：{' '.join(g.numbers)}")

    asyncio.run(main())





def _add_learning_knobs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-keywords", type=int, default=150,
                   help="words per category, keywords and negative words together (150; 0: all the lasso keeps)")
    p.add_argument("--single-chars", action="store_true",
                   help="every single character a candidate too (unreadable rules, kept for comparison)")
    p.add_argument("--min-df", type=int, default=2, help="a word must occur in this many texts (2)")
    p.add_argument("--head-chars", type=int, default=30, help="length of the subject line (30)")
    p.add_argument("--head-boost", type=float, default=2.0, help="extra weight of subject-line words (2.0)")
    p.add_argument("--seed", type=int, default=0)


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="labelled CSV (UTF-8, with a header row)")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument("--from-pool", action="store_true",
                   help="also use the database's dispatcher-confirmed tags and tag corrections")
    p.add_argument("--from-db", action="store_true",
                   help="also use closed appeals' final categories (after 改类, hotline imports included)")
    p.add_argument("--min-count", type=int, default=20,
                   help="with --from-db: a category needs this many closed appeals (20)")


def register(sub: Any) -> None:  # argparse's subparsers action (its class is private)
    tags = sub.add_parser("tags", help="标签规则：学习、评估、同类问题")
    tags_sub = tags.add_subparsers(dest="tags_command", required=True)
    learn = tags_sub.add_parser("learn", help="从已标注的诉求学习关键词规则")
    _add_data_args(learn)
    learn.add_argument("--out", required=True, help="rules TOML to write")
    learn.add_argument("--base", action="append", help="hand-written rules to merge into the output (repeatable)")
    _add_learning_knobs(learn)
    learn.set_defaults(fn=cmd_tags_learn)
    ev = tags_sub.add_parser("eval", help="评估规则：准确率、宏F1、前三命中率、混淆表、吞吐量")
    _add_data_args(ev)
    ev.add_argument("--rules", action="append",
                    help="rules TOML (repeatable: merged); with --folds, hand-written rules merged into each fold")
    ev.add_argument("--folds", type=int, default=0, help="K-fold cross-validation: learn and test on --data")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    _add_learning_knobs(ev)
    ev.set_defaults(fn=cmd_tags_eval)
    diff = tags_sub.add_parser("diff", help="两个规则文件的差别（新增、删除、权重变化）")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.set_defaults(fn=cmd_tags_diff)
    apply = tags_sub.add_parser("apply", help="备份当前规则文件并换成新文件，运行中的服务自动重新加载")
    apply.add_argument("file")
    apply.set_defaults(fn=cmd_tags_apply)
    common = tags_sub.add_parser("common", help="列出多家企业反映的同类未办结问题")
    common.add_argument("--threshold", type=float, default=0.35)
    common.set_defaults(fn=cmd_tags_common)
