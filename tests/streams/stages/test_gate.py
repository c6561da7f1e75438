"""The merging stages' event-time gate (streams/stages/gate.py): the minimum over
sources, with idleness that only the sources declare."""

from __future__ import annotations

from streams.stages.gate import ALL, Gate


def test_the_horizon_is_the_minimum_and_waits_for_a_source_that_said_nothing() -> None:
    gate = Gate(3)
    gate.mark("gas", 0, 100)
    gate.mark("gas", 1, 50)
    assert gate.horizon("gas") is None  # source 2 has said nothing: not idle, not known
    gate.mark("gas", 2, 70)
    assert gate.horizon("gas") == 50
    gate.mark("gas", 1, 40)  # a mark never moves back
    assert gate.horizon("gas") == 50


def test_an_idle_source_stops_holding_back_until_it_is_active_or_moves() -> None:
    gate = Gate(2)
    gate.mark("fleet", 0, 100)
    gate.mark("fleet", 1, 20)
    gate.set_idle("fleet", 1)
    assert gate.horizon("fleet") == 100
    gate.mark("fleet", 1, 20)  # markers repeat every channel: a repeat is no input
    assert gate.horizon("fleet") == 100
    gate.set_active("fleet", 1)  # input again: wait for it from its last mark
    assert gate.horizon("fleet") == 20
    gate.set_idle("fleet", 1)
    gate.mark("fleet", 1, 30)  # a mark that moves is input
    assert gate.horizon("fleet") == 30
    assert gate.horizon("gas") is None  # channels are separate


def test_every_source_idle_releases_everything_and_idleness_is_stored() -> None:
    gate = Gate(2)
    gate.set_idle("heating", 0)
    gate.set_idle("heating", 1)
    assert gate.horizon("heating") == ALL
    restored = Gate(2, gate.to_json())
    assert restored.horizon("heating") == ALL
    restored.set_active("heating", 0)
    assert restored.horizon("heating") is None


def test_no_clock_decides_idleness() -> None:
    """A source that is not running (killed, restoring, behind) sends nothing and so
    holds the channel back however long it takes: only its own idle marker frees it."""
    gate = Gate(2)
    gate.mark("gas", 0, 10_000)
    gate.mark("gas", 1, 60)
    assert all(gate.horizon("gas") == 60 for _ in range(3))


def test_repeats_are_told_per_source_and_stream() -> None:
    gate = Gate(2)
    assert gate.accept(0, 5, "gas")
    assert not gate.accept(0, 5, "gas"), "a repeat of the same stream"
    assert not gate.accept(0, 4, "gas")
    # another feed's partials are numbered on their own: a lower number is new
    assert gate.accept(0, 1, "heating")
    assert gate.accept(1, 1, "gas"), "another source"
    assert gate.accept(0, 1), "the unnamed stream (light facts) is its own too"
    restored = Gate(2, gate.to_json())
    assert not restored.accept(0, 1, "heating") and restored.accept(0, 2, "heating")
