"""One generator per input feed (DESIGN.md "Topics"), merged by `sensors_sim.simulation`."""
