pytest_plugins = [
    "tests.fixtures.stack",
    "tests.fixtures.alertmanager",
    "tests.fixtures.prometheus",
    "tests.fixtures.citystream",
    "tests.fixtures.scale_out",
]
