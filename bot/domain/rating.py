"""好差评: the five levels, the versioned tag file, and what counts as a bad review."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TAGS = Path(__file__).with_name("rating_tags.toml")

LEVELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
SOLVED = ("已解决", "部分解决", "未解决")
VERDICT_KINDS = ("误评", "恶意")


def is_bad(level: int) -> bool:
    """不满意 and 非常不满意 are 差评."""
    return level <= 2


def level_score(level: int) -> float:
    """A level on the 0–100 scale of the index: 5 → 100, 1 → 0."""
    return (level - 1) * 25.0


@dataclass(frozen=True)
class TagSet:
    """The tags offered for each level, and the version stored with each rating."""

    version: str
    levels: dict[int, tuple[str, ...]]

    @classmethod
    def load(cls, path: str | Path | None = None) -> TagSet:
        """Read a tag file; raise ValueError naming what is wrong."""
        p = Path(path) if path else DEFAULT_TAGS
        data = tomllib.loads(p.read_text(encoding="utf-8"))
        version = str(data.get("version", "")).strip()
        if not version:
            raise ValueError(f"{p}: missing `version`")
        raw = data.get("levels", {})
        levels = {int(k): tuple(str(t) for t in v) for k, v in raw.items()}
        if set(levels) != set(LEVELS):
            raise ValueError(f"{p}: [levels] must list tags for levels 1–5")
        return cls(version, levels)

    def tags(self, level: int) -> tuple[str, ...]:
        return self.levels.get(level, ())
