"""Settings compared, hashed and keyed by their JSON: survey configs and presets."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, fields, is_dataclass
from typing import Any, ClassVar


class HashedConfig:
    """Frozen dataclass settings compared, hashed and keyed (``digest``) by their JSON.

    Subclasses are ``@dataclass(frozen=True, eq=False)`` so these methods stay in force:
    their dict-valued fields would make the generated field-tuple hash fail.
    """

    # Fields added after the first release; left out of the JSON at their defaults so that
    # the cache keys of files simulated before they existed stay valid.
    later_fields: ClassVar[tuple[str, ...]] = ()

    def to_json(self) -> str:
        """All fields as a JSON object with sorted keys, later fields only when not default."""
        return json.dumps(self.plain_fields(), sort_keys=True)

    def plain_fields(self) -> dict[str, Any]:
        """The fields as plain values; nested settings leave out their own default later fields."""
        values = {}
        for field in fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if field.name in self.later_fields and value == field.default:
                continue
            if isinstance(value, HashedConfig):
                values[field.name] = value.plain_fields()
            else:
                values[field.name] = asdict(value) if is_dataclass(value) else value
        return values

    def digest(self) -> str:
        """Short sha256 of the fields, the cache key of the simulated file."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_json() == self.to_json()

    def __hash__(self) -> int:
        return hash(self.to_json())
