"""The course's nbgrader_config.py, loaded as nbgrader itself would, so every step shares its
rules."""

from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from base.errors import CourseError

CONFIG_NAME = "nbgrader_config.py"


def load_config(root):
    """nbgrader's configuration for the course in `root`, with its root made absolute."""
    root = Path(root).resolve()
    if not (root / CONFIG_NAME).is_file():
        raise CourseError(
            f"{root / CONFIG_NAME} does not exist; run this in the course root (the folder "
            f"holding {CONFIG_NAME})."
        )
    config = PyFileConfigLoader(CONFIG_NAME, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return config


def student_files(config, assignment):
    """The files students complete: those `Autograde.exclude_overwriting` keeps from being
    overwritten."""
    return list(config.Autograde.get("exclude_overwriting", {}).get(assignment, []))
