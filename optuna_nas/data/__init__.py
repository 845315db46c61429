"""Data sets as LightningDataModules with fixed, seeded splits."""

from optuna_nas.data._datamodules import ArrayDataModule
from optuna_nas.data._datamodules import CIFAR10DataModule
from optuna_nas.data._datamodules import DigitsDataModule
from optuna_nas.data._datamodules import NpzDataModule

__all__ = [
    "ArrayDataModule",
    "CIFAR10DataModule",
    "DigitsDataModule",
    "NpzDataModule",
]
