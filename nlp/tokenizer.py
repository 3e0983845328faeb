"""One jieba tokenizer per process, loaded once (off the event loop) with our user dictionary."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import jieba

log = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)


class Tokenizer:
    """Wraps a private jieba.Tokenizer so our user words never leak into the global one."""

    def __init__(self, user_words: Iterable[str] = ()) -> None:
        self._jieba = jieba.Tokenizer()
        self._user_words = sorted(set(user_words))
        self._lock = threading.Lock()
        self._ready = False

    @property
    def ready(self) -> bool:
        return self._ready

    def load(self) -> None:
        """Load the dictionary (≈1.2 s): call from a worker thread at start-up."""
        with self._lock:
            if self._ready:
                return
            self._jieba.initialize()
            for word in self._user_words:
                self._jieba.add_word(word, freq=2000)
            self._ready = True

    def tokens(self, text: str) -> list[str]:
        if not self._ready:
            self.load()
        return [t for t in self._jieba.lcut(text, HMM=False) if t.strip()]
