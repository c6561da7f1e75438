"""The feed simulator: city profiles, deterministic feeds, incidents, a Kafka runner.

- `cityops.base.city.profiles.load_profile(name)` -> `CityProfile` (also the rules' `CityContext`)
- `sensors_sim.simulation.Simulation(profile, seed, start, incidents).events_between(t0, t1)`
- `sensors_sim.incidents.incident_from_dict(d)` and `Incident.expected_alerts(profile, start)`
- `sensors_sim.simulate.run_simulation(settings, profile, ...)` -> deliveries per topic
- `cityops simulate` (`sensors_sim.cli`); `python -m sensors_sim.perf` measures generation speed
"""
