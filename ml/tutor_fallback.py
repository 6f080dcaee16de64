"""The tutor's replies without an LLM: the deterministic fallback and the leak hint.

When no LLM answers, the learner still gets a Socratic nudge built from the grounding:
it names the skill, says how far along the learner is and ends with a question. The
same inputs always give the same text (variants are picked by a checksum of the
message, not at random), so a reply can be reproduced from a log. Nothing here sees
an expected quiz answer, so nothing here can quote one.
"""

from __future__ import annotations

import zlib

from ml.tutor import (
    EXPLAIN,
    REVIEW,
    SOCRATIC,
    Grounding,
    Leak,
    Mistake,
    check_mode,
    find_leak,
    percent,
)

MAX_QUOTE_CHARS = 120
DEFAULT_PIECE = 24


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) <= MAX_QUOTE_CHARS:
        return flat
    return flat[: MAX_QUOTE_CHARS - 1].rstrip() + "…"


def _pick(options: tuple[str, ...], message: str) -> str:
    # crc32 rather than hash(): str hashes are salted per process, so not reproducible.
    return options[zlib.crc32(message.encode("utf-8")) % len(options)]


def _subject(g: Grounding) -> str | None:
    if g.skills and g.skills[0].name.strip():
        return _quote(g.skills[0].name)
    if g.lesson_title and g.lesson_title.strip():
        return _quote(g.lesson_title)
    return None


def _mastery(g: Grounding) -> str | None:
    if not g.skills or not g.skills[0].name.strip():
        return None
    level = percent(g.skills[0].p_mastery)
    return f"Your mastery of {_quote(g.skills[0].name)} is about {level}% so far."


def _mistake(g: Grounding) -> Mistake | None:
    for mistake in g.mistakes:
        if mistake.question.strip():
            return mistake
    return None


def _socratic(g: Grounding, topic: str, message: str) -> list[str]:
    opener = (
        f"Let's work through {topic} together, one small step at a time."
        if _subject(g)
        else "Let's think this through together, one small step at a time."
    )
    mistake = _mistake(g)
    if mistake is not None:
        close = (
            f'Think back to "{_quote(mistake.question)}": which step would you check '
            "first, and why?"
        )
    else:
        close = _pick(
            (
                f"What do you already know about {topic} that could help here?",
                f"Which part of {topic} feels least clear to you right now?",
                f"How would you start on {topic} if you had to try it yourself?",
            ),
            message,
        )
    return [opener, "Here is a hint: name the idea involved before reaching for a rule.", close]


def _explain(g: Grounding, topic: str, message: str) -> list[str]:
    close = _pick(
        (
            f"Can you put the key idea of {topic} in your own words?",
            "Which step of that example would change if the numbers changed?",
        ),
        message,
    )
    return [
        f"Here is a frame for {topic}: start from what it is for, then follow one small "
        "example step by step.",
        "Notice which step does the real work; the others only prepare it.",
        close,
    ]


def _review(g: Grounding, topic: str, message: str) -> list[str]:
    mistake = _mistake(g)
    if mistake is not None:
        close = f'Let\'s try one again: "{_quote(mistake.question)}" What would you answer now?'
    else:
        close = _pick(
            (
                f"How would you explain {topic} to someone seeing it for the first time?",
                f"Can you give one example of {topic} and say why it works?",
            ),
            message,
        )
    return [f"Let's review {topic} with one question at a time.", close]


def fallback_reply(mode: str, grounding: Grounding, message: str) -> str:
    """A short Socratic reply from the grounding alone; always ends with a question.

    It is about the first grounding skill (the weakest relevant one), else the lesson,
    else the learner's message in general.
    """
    check_mode(mode)
    topic = _subject(grounding) or "this"
    builders = {SOCRATIC: _socratic, EXPLAIN: _explain, REVIEW: _review}
    sentences = builders[mode](grounding, topic, message)
    mastery = _mastery(grounding)
    if mastery is not None:
        sentences.insert(1, mastery)
    return " ".join(sentences)


def leak_hint(grounding: Grounding, leak: Leak) -> str:
    """A reply to send instead of one that gave a quiz answer away: a hint and a question."""
    topic = _subject(grounding)
    if topic is not None:
        hint = (
            f"I'd rather not give the answer away: this one is yours to find. "
            f"Think about what {topic} says about the situation in the question. "
            "Which step would you try first?"
        )
        # The skill's own name may contain the answer ("Paris" in "Paris geography").
        if find_leak(hint, (leak.expected,)) is None:
            return hint
    return (
        "I'd rather not give the answer away: this one is yours to find. "
        "Start from what the question asks for and what you already know. "
        "Which step would you try first?"
    )


def stream_pieces(text: str, size: int = DEFAULT_PIECE) -> list[str]:
    """Split text into non-empty pieces of at most `size` characters that join back to it.

    A piece ends just after whitespace when there is some within reach, so words arrive
    whole; a word longer than `size` is cut.
    """
    if size < 1:
        raise ValueError("size must be at least 1")
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = start + size
        if end < len(text):
            for cut in range(end, start, -1):
                if text[cut - 1].isspace():
                    end = cut
                    break
        pieces.append(text[start:end])
        start = end
    return pieces
