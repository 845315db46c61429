"""Data sets as LightningDataModules with fixed, seeded splits."""

from optuna_nas.data._datamodules import (
    ArrayDataModule,
    CIFAR10DataModule,
    DigitsDataModule,
    NpzDataModule,
)

__all__ = [
    "ArrayDataModule",
    "CIFAR10DataModule",
    "DigitsDataModule",
    "NpzDataModule",
]
