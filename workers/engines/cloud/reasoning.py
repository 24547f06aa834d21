"""Reasoning text kept out of notes.

Reasoning models (DeepSeek-R1 and its distills, Qwen3) write their thinking inside
``<think>...</think>`` in the answer itself when the server does not split it into a separate
field. :class:`ThinkStripper` removes those blocks from a stream whose pieces may cut a tag
anywhere (``"<th"`` + ``"ink>"``), holding back only what could still be the start of a tag.
Reasoning that arrives in its own field (``reasoning_content``, ``reasoning``, Bedrock's
``reasoningContent``) is simply never read by the engines.
"""

from __future__ import annotations

_OPEN = "<think>"
_CLOSE = "</think>"


class ThinkStripper:
    """Feed answer text piece by piece; get back only the text outside think blocks."""

    def __init__(self) -> None:
        self._inside = False
        self._held = ""

    def feed(self, piece: str) -> str:
        text = self._held + piece
        self._held = ""
        out: list[str] = []
        while text:
            tag = _CLOSE if self._inside else _OPEN
            at = text.find(tag)
            if at >= 0:
                if not self._inside:
                    out.append(text[:at])
                text = text[at + len(tag) :]
                self._inside = not self._inside
                continue
            if not self._inside and (orphan := text.find(_CLOSE)) >= 0:
                # A close without an open: the server put "<think>" in the prompt, so
                # everything before it was thinking.
                out.clear()
                text = text[orphan + len(_CLOSE) :]
                continue
            keep = _partial_tag(text, tag)
            if not self._inside:
                keep = max(keep, _partial_tag(text, _CLOSE))
                out.append(text[: len(text) - keep])
            self._held = text[len(text) - keep :] if keep else ""
            break
        return "".join(out)

    def flush(self) -> str:
        """What was held back at the end; nothing when the answer ended inside a block."""
        held, self._held = self._held, ""
        return "" if self._inside else held


def _partial_tag(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


def strip_reasoning(text: str) -> str:
    """``text`` without think blocks (for answers that arrive whole)."""
    stripper = ThinkStripper()
    return stripper.feed(text) + stripper.flush()
