"""Ceiling for tag rules: the strongest classical text classifiers on the same 5 folds as `qihu tags eval`."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp.learn import ONE_CHAR_TERMS, LearnOptions, candidate_words, read_csv, stratified_folds  # noqa: E402
from nlp.rules import SubstringMatcher  # noqa: E402
from nlp.tokenizer import Tokenizer  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "tipdm2020c-train.csv"
HEAD_CHARS, HEAD_BOOST = 30, 2.0  # the learner's subject-line weighting, used for the word-set models too
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NOT_A_WORD = re.compile(r"^[\W\d_a-zA-Z]+$")


def word_sets(texts: list[str], tokenizer: Tokenizer) -> dict[str, list[set[str]]]:
    """Per text, the feature words of each representation (whole words are found as substrings, like the tagger)."""
    opts = LearnOptions()
    jieba = tokenizer._jieba
    own = {
        "whole words (the learner's candidates)": [
            candidate_words(tokenizer.tokens(t), opts) | {c for c in ONE_CHAR_TERMS if c in t} for t in texts],
        "jieba dictionary words found as substrings": [set() for _ in texts],
        "jieba search-mode tokens": [{w for w in jieba.lcut_for_search(t, HMM=False)
                                      if len(w) >= 2 and not _NOT_A_WORD.match(w)} for t in texts],
    }
    dictionary = SubstringMatcher(w for w, f in jieba.FREQ.items()
                                  if f > 0 and len(w) >= 2 and all(_CJK.match(c) for c in w))
    own["jieba dictionary words found as substrings"] = [dictionary.find(t) for t in texts]
    out = {}
    for name, sets in own.items():
        df = Counter(w for s in sets for w in s)
        matcher = SubstringMatcher(w for w, n in df.items() if n >= 2)
        out[name] = [matcher.find(t) for t in texts]
    chars = [set(_CJK.findall(t)) for t in texts]
    out["whole words + every single character (the old unreadable rules)"] = [
        w | c for w, c in zip(out["whole words (the learner's candidates)"], chars, strict=True)]
    out["characters and character pairs"] = [
        c | {t[i:i + 2] for i in range(len(t) - 1) if _CJK.match(t[i]) and _CJK.match(t[i + 1])}
        for t, c in zip(texts, chars, strict=True)]
    return out


def design(texts, sets, rows, index, idf):  # type: ignore[no-untyped-def]
    """Presence × subject-line boost × idf, L2-normalised: the learner's features."""
    from scipy.sparse import csr_matrix

    data, cols, ptr = [], [], [0]
    for i in rows:
        head = texts[i][:HEAD_CHARS]
        hits = [(index[w], (1 + HEAD_BOOST * (w in head)) * idf[index[w]]) for w in sets[i] if w in index]
        norm = math.sqrt(sum(v * v for _, v in hits)) or 1.0
        cols += [j for j, _ in hits]
        data += [v / norm for _, v in hits]
        ptr.append(len(cols))
    return csr_matrix((data, cols, ptr), shape=(len(rows), len(index)))


def nb_svm_scores(texts, sets, y, train, test, labels, cost):  # type: ignore[no-untyped-def]
    """One NB-scaled linear SVM per label (Wang & Manning 2012), unlimited vocabulary."""
    import numpy as np
    from sklearn.svm import LinearSVC

    df = Counter(w for i in train for w in sets[i])
    vocab = sorted(w for w, n in df.items() if n >= 2)
    index = {w: j for j, w in enumerate(vocab)}
    idf = np.log((1 + len(train)) / (1 + np.array([df[w] for w in vocab], float))) + 1.0
    xtr, xte = design(texts, sets, train, index, idf), design(texts, sets, test, index, idf)
    ytr = y[train]
    present = (xtr > 0).astype(float)
    scores = np.zeros((len(test), len(labels)))
    for c, label in enumerate(labels):
        p = np.asarray(present[ytr == label].sum(0)).ravel() + 1.0
        q = np.asarray(present[ytr != label].sum(0)).ravel() + 1.0
        r = np.log((p / p.sum()) / (q / q.sum()))
        svm = LinearSVC(C=cost).fit(xtr.multiply(r).tocsr(), ytr == label)
        scores[:, c] = svm.decision_function(xte.multiply(r).tocsr())
    return scores


def tfidf_scores(texts, tokens, y, train, test, kind, ngrams, model):  # type: ignore[no-untyped-def]
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    if kind == "char":
        vec = TfidfVectorizer(analyzer="char", ngram_range=ngrams, sublinear_tf=True, min_df=2)
        docs = texts
    else:
        vec = TfidfVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False, ngram_range=ngrams,
                              sublinear_tf=True, min_df=2)
        docs = tokens
    xtr = vec.fit_transform([docs[i] for i in train])
    clf = LinearSVC(C=1.0) if model == "svm" else LogisticRegression(C=30.0, max_iter=3000)
    clf.fit(xtr, y[train])
    return clf.decision_function(vec.transform([docs[i] for i in test]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--out", help="write the results as JSON here too")
    args = ap.parse_args()
    if not Path(args.data).exists():
        raise SystemExit(f"skipped: {args.data} is absent (labelled data lives in ../shared/data/)")
    try:
        import numpy as np
        import sklearn  # noqa: F401
    except ImportError:
        raise SystemExit("skipped: needs scikit-learn and scipy (not project dependencies): "
                         "pip install scikit-learn") from None
    examples = read_csv(args.data)
    texts = [e.text for e in examples]
    y = np.array([e.label for e in examples])
    labels = sorted(set(y))
    folds = stratified_folds(list(y), 5, LearnOptions().seed)  # the folds of `qihu tags eval --folds 5`
    tokenizer = Tokenizer()
    tokenizer.load()
    tokens = [" ".join(tokenizer.tokens(t)) for t in texts]
    sets = word_sets(texts, tokenizer)
    models = [
        ("TF-IDF jieba words 1–2-grams + LinearSVC", lambda tr, te: tfidf_scores(
            texts, tokens, y, tr, te, "word", (1, 2), "svm")),
        ("TF-IDF characters 1–2-grams + LinearSVC", lambda tr, te: tfidf_scores(
            texts, tokens, y, tr, te, "char", (1, 2), "svm")),
        ("TF-IDF characters 1–3-grams + LinearSVC", lambda tr, te: tfidf_scores(
            texts, tokens, y, tr, te, "char", (1, 3), "svm")),
        ("TF-IDF characters 1–3-grams + logistic regression", lambda tr, te: tfidf_scores(
            texts, tokens, y, tr, te, "char", (1, 3), "logreg")),
        *[(f"NB-SVM, {name}", lambda tr, te, s=s: nb_svm_scores(texts, s, y, tr, te, labels, 1.0))
          for name, s in sets.items()],
        ("NB-SVM C=2, whole words + every single character (the old unreadable rules)",
         lambda tr, te: nb_svm_scores(texts, sets["whole words + every single character (the old unreadable rules)"],
                                      y, tr, te, labels, 2.0)),
    ]
    results = []
    for name, scores_of in models:
        start = time.perf_counter()
        right = top3 = 0
        for test in folds:
            held = set(test)
            order = np.argsort(-scores_of([i for i in range(len(texts)) if i not in held], test), 1)
            right += sum(labels[order[k, 0]] == y[i] for k, i in enumerate(test))
            top3 += sum(y[i] in {labels[j] for j in order[k, :3]} for k, i in enumerate(test))
        results.append({"model": name, "accuracy": round(right / len(texts), 4),
                        "top3_accuracy": round(top3 / len(texts), 4),
                        "seconds": round(time.perf_counter() - start)})
        print(f"{results[-1]['accuracy']:.4f}  top-3 {results[-1]['top3_accuracy']:.4f}  {name}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({
            "when": datetime.now(UTC).isoformat(timespec="seconds"), "texts": len(texts), "folds": 5,
            "results": results}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
