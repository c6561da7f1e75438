"""The three stages of one worker, from the settings (both runtimes call this)."""

from __future__ import annotations

from datetime import timedelta

from cityops.base.city.profiles import load_profile
from cityops.base.clock import Clock, utc_now
from cityops.base.settings import Settings
from cityops.base.thresholds import load_thresholds
from streams.stages.base import StageTopics
from streams.stages.circuit import CircuitStage
from streams.stages.district import DistrictStage
from streams.stages.entity import EntityStage


def stage_topics(settings: Settings) -> StageTopics:
    return StageTopics(settings.worker_id, settings.topic_prefix, settings.topic_partitions)


def build_stages(
    settings: Settings, clock: Clock = utc_now
) -> tuple[EntityStage, CircuitStage, DistrictStage]:
    """Entity, circuit and district stage, in the order a partition runs them."""
    names = stage_topics(settings)
    thresholds = load_thresholds(settings.rules_file)
    city = load_profile(settings.profile)
    entity = EntityStage(
        names,
        thresholds,
        city,
        clock=clock,
        max_age=timedelta(seconds=settings.max_event_age_s),
        max_future=timedelta(seconds=settings.max_event_future_s),
        runbook_base_url=settings.runbook_base_url,
        idle_s=settings.worker_idle_timeout_s,
    )
    circuit = CircuitStage(
        names, thresholds, city, runbook_base_url=settings.runbook_base_url, clock=clock
    )
    district = DistrictStage(
        names, thresholds, city, runbook_base_url=settings.runbook_base_url, clock=clock
    )
    return entity, circuit, district
