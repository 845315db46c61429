"""Install optuna-nas."""

from pathlib import Path

from setuptools import find_packages
from setuptools import setup

HERE = Path(__file__).parent

setup(
    name="optuna-nas",
    version="0.1.0",
    description="Neural architecture search as Optuna samplers, pruners and evaluators.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["optuna_nas", "optuna_nas.*"]) + ["optuna_nas.conf"],
    # The Hydra configs live in the top-level conf/ and ship inside the package.
    package_dir={"optuna_nas.conf": "conf"},
    package_data={"optuna_nas.conf": ["*.yaml", "*/*.yaml"]},
    install_requires=[
        "optuna>=5.0",
        "torch>=2.10",
        "pytorch-lightning>=2.5",
        "torchmetrics>=1.4",
        "hydra-core>=1.3",
        "omegaconf>=2.3",
        "mlflow>=3.0",
        "numpy>=1.26",
        "scipy>=1.11",
        "scikit-learn>=1.4",
        "matplotlib>=3.8",
        "tqdm>=4.66",
        "filelock>=3.12",
    ],
    extras_require={"test": ["pytest>=8", "ruff>=0.6"]},
    entry_points={
        "console_scripts": [
            "optuna-nas=optuna_nas._cli:main",
            "optuna-nas-benchmark=optuna_nas.benchmarks._nb201:main",
            "optuna-nas-proxies=optuna_nas.benchmarks._proxies:main",
        ]
    },
)
