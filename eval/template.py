"""The note template eval scores, shared by every writer (its own module so that the writers
and the lazily imported product writer do not import each other)."""

from __future__ import annotations

from core.domain import Template

#: ACI-Bench notes follow a history-and-physical layout, so that is the template scored.
EVAL_TEMPLATE = Template.HISTORY_AND_PHYSICAL
