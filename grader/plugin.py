"""The grader's pytest plugin: the session's `Grading` as an object, not option strings."""


class GradingPlugin:
    """Carries a session's `grader.grading.Grading` (assignment, limits, sandbox) to its fixtures
    and checks, so nothing is flattened into option strings and parsed back."""

    def __init__(self, grading):
        self.grading = grading


def grading_of(config):
    """The `Grading` of the pytest session `config`."""
    plugins = config.pluginmanager.get_plugins()
    return next(plugin.grading for plugin in plugins if isinstance(plugin, GradingPlugin))
