"""Plainly valid feed messages, decoded by msgspec: the worker's and the sink's fast path.

Both the worker (`streams.pipeline.Processor`) and the sink run the feeds'
validation (`streams.validation`) on every message: pydantic, ~1.5-2 µs per
message, then `_to_utc` (2.6 % of the worker's stages, py-spy 2026-12-01);
the sink then builds its row from the model (3.4 µs per row with that, of its
~7.5 µs per row flat out). Here a message that is plainly valid is decoded by
msgspec into a struct with the model's fields, in ~1 µs; anything else (a
rejection, or anything this path is not sure of) is left to `decode_within`,
which decides and words the reason as before.

"Plainly valid" is a subset of what `decode_within` accepts, with the same
values:

- the struct is derived from the pydantic model (`streams.models`): the same
  fields in the same order, the same types, bounds and literals, unknown fields
  forbidden; an id pattern (`^[...]+$`, ASCII) is the same class anchored at
  the very end (`\\Z`: Python's `$` would let a final newline through);
- a pattern Python's `re` cannot run (the district's `\\p{C}\\p{Z}`) is asked of
  pydantic itself, once per distinct value (a bounded cache);
- `ts` only in the simulator's and DESIGN.md's form, `YYYY-MM-DDTHH:MM:SS.mmmZ`,
  with valid ranges (`datetime.fromisoformat` then gives the very datetime
  pydantic and `_to_utc` give: UTC, `datetime.timezone.utc`), and within the
  accepted event-time range;
- the top-level comma count of a message naming each field once (as
  `decode_within`): a repeated member goes to the exact check.

The structs (`TWIN_BY_TOPIC`) carry the model's fields and its `entity_id`;
the rules, windows and routing read only those, and accept either
(`EVENT_TYPES`). `tests/streams/test_plain.py` compares both paths on valid,
mutated and hostile messages, and the bench's digest the outputs.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from datetime import datetime
from operator import attrgetter
from typing import Annotated, Any

import msgspec
from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import ConfigDict, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from streams.models import MODEL_BY_TOPIC, Event
from streams.validation import UNIQUE_COMMAS

#: The wire form of `ts` this path takes (any other form: the exact path).
_CANONICAL_TS = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z",
    re.ASCII,  # `\d` = 0-9 only
).fullmatch
#: An id pattern Python's `re` runs exactly as pydantic-core's regex does.
_ASCII_CLASS = re.compile(r"\^\[[ -~]+\]\+\$")
#: Distinct values remembered per checked field (districts: a city has dozens).
_CACHE_MAX = 4096


def _pattern(info: FieldInfo) -> str | None:
    for meta in info.metadata:
        pattern = getattr(meta, "pattern", None)
        if pattern is not None:
            return str(pattern)
    return None


#: annotated-types bounds and the `msgspec.Meta` keyword of each (also the bound's
#: attribute name).
_BOUNDS: tuple[tuple[type, str], ...] = (
    (Ge, "ge"),
    (Gt, "gt"),
    (Le, "le"),
    (Lt, "lt"),
    (MinLen, "min_length"),
    (MaxLen, "max_length"),
)


def _field(name: str, info: FieldInfo) -> tuple[Any, bool]:
    """(msgspec type, whether pydantic must check the value) of one model field."""
    if name == "ts":
        return str, False
    annotation = info.annotation
    bounds: dict[str, Any] = {}
    for meta in info.metadata:
        word = next((w for kind, w in _BOUNDS if isinstance(meta, kind)), None)
        if word is not None:
            bounds[word] = getattr(meta, word)
        elif getattr(meta, "pattern", None) is None:
            raise TypeError(f"{name}: no msgspec twin for {meta!r}")
    if annotation is float:
        return (Annotated[float, msgspec.Meta(**bounds)] if bounds else float), False
    if annotation is bool and not bounds:
        return bool, False
    if annotation is str:
        pattern = _pattern(info)
        if pattern is None:
            return (Annotated[str, msgspec.Meta(**bounds)] if bounds else str), False
        if _ASCII_CLASS.fullmatch(pattern):
            return Annotated[str, msgspec.Meta(pattern=pattern[:-1] + r"\Z", **bounds)], False
        return str, True  # the value goes to pydantic itself
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if not bounds and (
        origin is typing.Literal
        or (
            origin is typing.Union
            and all(a is type(None) or typing.get_origin(a) is typing.Literal for a in args)
        )
    ):
        return annotation, False
    raise TypeError(f"{name}: no msgspec twin for {annotation!r}")


class _Feed:
    """The msgspec decoder and the pydantic checks of one feed's model."""

    def __init__(self, topic: str, model: type[Event]) -> None:
        fields: list[tuple[str, Any]] = []
        self.checked: list[tuple[str, Callable[[Any], Any]]] = []
        for name, info in model.model_fields.items():
            kind, checked = _field(name, info)
            fields.append((name, kind))
            if checked:
                form: Any = Annotated[info.annotation, *info.metadata]  # the field's own
                adapter: TypeAdapter[Any] = TypeAdapter(form, config=ConfigDict(strict=True))
                self.checked.append((name, adapter.validate_python))
        if fields[0][0] != "ts":
            raise TypeError(f"{model.__name__}: ts must be the first column")
        # the model's `entity_id` names one of its fields: ask it which
        probe: Any = model.model_construct(None, **{name: name for name, _ in fields})
        entity_field = probe.entity_id
        if entity_field not in model.model_fields:
            raise TypeError(f"{model.__name__}.entity_id is not a field")
        self.struct: type[msgspec.Struct] = msgspec.defstruct(
            f"Plain{model.__name__}",
            fields,
            forbid_unknown_fields=True,
            gc=False,  # holds no containers: nothing for the collector to track
            module=__name__,
            namespace={"entity_id": property(attrgetter(entity_field))},
        )
        self.decode = msgspec.json.Decoder(self.struct).decode
        self.commas = UNIQUE_COMMAS[topic]
        self.good: dict[str, set[Any]] = {name: set() for name, _ in self.checked}

    def passes(self, name: str, check: Callable[[Any], Any], value: Any) -> bool:
        good = self.good[name]
        if value in good:
            return True
        try:
            check(value)
        except ValidationError:
            return False
        if len(good) < _CACHE_MAX:
            good.add(value)
        return True


_FEEDS = {topic: _Feed(topic, model) for topic, model in MODEL_BY_TOPIC.items()}
_fromisoformat = datetime.fromisoformat

#: The struct of each feed topic's plainly valid messages.
TWIN_BY_TOPIC: dict[str, type[Any]] = {topic: feed.struct for topic, feed in _FEEDS.items()}
#: What an event of each feed topic may be: its model, or its struct.
EVENT_TYPES: dict[str, tuple[type[Any], ...]] = {
    topic: (model, TWIN_BY_TOPIC[topic]) for topic, model in MODEL_BY_TOPIC.items()
}


def decode_plain(topic: str, raw: bytes | None, oldest: datetime, newest: datetime) -> Any:
    """The event of a plainly valid message of feed `topic` (a struct with the model's
    fields, `ts` a UTC datetime), or None: then `decode_within` decides."""
    feed = _FEEDS.get(topic)
    if feed is None or raw is None or raw.count(b",") != feed.commas:
        return None
    try:
        item: Any = feed.decode(raw)
    except msgspec.DecodeError:  # ValidationError included
        return None
    for name, check in feed.checked:
        if not feed.passes(name, check, getattr(item, name)):
            return None
    ts = item.ts
    if not _CANONICAL_TS(ts):
        return None
    try:
        at = _fromisoformat(ts)
    except ValueError:  # a day the month does not have
        return None
    if at < oldest or at > newest:
        return None
    item.ts = at
    return item
