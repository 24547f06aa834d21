"""Reading a synthesized CloudFormation template: references and joined strings."""

from __future__ import annotations

import json
from typing import Any


def ref(value: Any) -> str | None:
    """Logical id that a Ref or Fn::GetAtt points at, else None."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def render(value: Any) -> str:
    """A string with its intrinsic parts shown as @LogicalId@ (or @?@ for other functions)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Base64" in value:
            return render(value["Fn::Base64"])
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return str(sep).join(render(part) for part in parts)
        target = ref(value)
        return f"@{target}@" if target else "@?@"
    return json.dumps(value)


def mentions(value: Any, logical_id: str) -> bool:
    """Whether a Ref or Fn::GetAtt to logical_id occurs anywhere inside value."""
    if ref(value) == logical_id:
        return True
    if isinstance(value, dict):
        return any(mentions(v, logical_id) for v in value.values())
    if isinstance(value, list):
        return any(mentions(v, logical_id) for v in value)
    return False
