# The project's own tests drive the plugin through pytest's pytester fixture.
pytest_plugins = ["pytester"]
