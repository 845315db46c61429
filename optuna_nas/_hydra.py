"""Where the Hydra configs are, for every command of the package."""

from __future__ import annotations

from pathlib import Path


def config_dir() -> str:
    """Return the absolute path of the Hydra config folder.

    An installed package carries the configs as ``optuna_nas/conf``; a source checkout (and an
    editable install) has them in the top-level ``conf/``.
    """
    package = Path(__file__).resolve().parent
    for candidate in (package / "conf", package.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return str(candidate)
    raise FileNotFoundError(
        f"The Hydra configs of optuna-nas are missing: expected {package / 'conf'} or "
        f"{package.parent / 'conf'}; reinstall the package."
    )


CONFIG_DIR = config_dir()
