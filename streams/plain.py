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
  forbidden; an id pattern (`^[...]+$` of ASCII letters, digits, ranges of
  them, `_`, `.`, `-`: `_ASCII_CLASS`) is checked by Python's `re` with the same
  class, the whole value (`fullmatch`: `$` would let a final newline through),
  in one call with `ts` (`_Feed`);
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
_CANONICAL_TS = (
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z"
)
#: An id pattern whose class both regex engines read alike: ASCII letters and
#: digits, ranges of them, `_`, `.`, `\-`, `\.` (no negation, no escape class
#: such as `\d`, no nested set or set operation as Rust's regex has them). Such a
#: class never matches a newline, which `_Feed` relies on.
_ASCII_CLASS = re.compile(r"\^(\[(?:[A-Za-z0-9](?:-[A-Za-z0-9])?|[_.]|\\[-.])+\]\+)\$")
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


#: How `decode_plain` checks a field beyond msgspec's type and bounds.
_PYDANTIC = "pydantic"  # asked of pydantic itself (a pattern `re` cannot run alike)


def _field(name: str, info: FieldInfo) -> tuple[Any, str | None]:
    """(msgspec type, extra check) of one model field: the check is None, `_PYDANTIC`,
    or the regex of an id's class (`_ASCII_CLASS`), run with `ts`'s in one call."""
    if name == "ts":
        return str, None
    annotation = info.annotation
    bounds: dict[str, Any] = {}
    for meta in info.metadata:
        word = next((w for kind, w in _BOUNDS if isinstance(meta, kind)), None)
        if word is not None:
            bounds[word] = getattr(meta, word)
        elif getattr(meta, "pattern", None) is None:
            raise TypeError(f"{name}: no msgspec twin for {meta!r}")
    if annotation is float:
        return (Annotated[float, msgspec.Meta(**bounds)] if bounds else float), None
    if annotation is bool and not bounds:
        return bool, None
    if annotation is str:
        kind = Annotated[str, msgspec.Meta(**bounds)] if bounds else str
        pattern = _pattern(info)
        if pattern is None:
            return kind, None
        ascii_class = _ASCII_CLASS.fullmatch(pattern)
        if ascii_class:
            return kind, ascii_class[1]
        return str, _PYDANTIC  # the value goes to pydantic itself
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if not bounds and (
        origin is typing.Literal
        or (
            origin is typing.Union
            and all(a is type(None) or typing.get_origin(a) is typing.Literal for a in args)
        )
    ):
        return annotation, None
    raise TypeError(f"{name}: no msgspec twin for {annotation!r}")


class _Feed:
    """The msgspec decoder and the checks of one feed's model."""

    def __init__(self, topic: str, model: type[Event]) -> None:
        fields: list[tuple[str, Any]] = []
        self.checked: list[tuple[str, Callable[[Any], Any]]] = []
        ids: list[tuple[str, str]] = []  # (field, its class regex)
        for name, info in model.model_fields.items():
            kind, check = _field(name, info)
            fields.append((name, kind))
            if check == _PYDANTIC:
                form: Any = Annotated[info.annotation, *info.metadata]  # the field's own
                adapter: TypeAdapter[Any] = TypeAdapter(form, config=ConfigDict(strict=True))
                self.checked.append((name, adapter.validate_python))
            elif check is not None:
                ids.append((name, check))
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
        # `ts` and the ids, newline-joined, against one regex: one `re` call per
        # message instead of msgspec's `Meta(pattern=)`, which called `re` once per
        # id (0.3 µs each: 0.95 of a streetlight's 2.3 µs, 2026-12-01). Neither the
        # `ts` form nor an id class holds a newline, so a value with one puts more
        # newlines in the line than the regex has, and fails it.
        self.texts = attrgetter("ts", *(name for name, _ in ids))
        self.form = re.compile(
            _CANONICAL_TS + "".join(rf"\n{cls}" for _, cls in ids),
            re.ASCII,  # `\d` = 0-9 only
        ).fullmatch

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
_join = "\n".join

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
    if not feed.form(_join(feed.texts(item))):
        return None
    for name, check in feed.checked:
        value = getattr(item, name)
        if value not in feed.good[name] and not feed.passes(name, check, value):
            return None
    try:
        at = _fromisoformat(item.ts)
    except ValueError:  # a day the month does not have
        return None
    if at < oldest or at > newest:
        return None
    item.ts = at
    return item
