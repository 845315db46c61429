"""A LightningModule that trains any classification network as NAS-Bench-201 does."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import nn
from torchmetrics.classification import MulticlassAccuracy


class NonFiniteLossError(FloatingPointError):
    """Raised when the training loss becomes NaN or infinite."""


class ClassificationModule(pl.LightningModule):
    """Train a network with cross-entropy and SGD with momentum under a cosine schedule.

    The defaults follow NAS-Bench-201's training recipe (Dong & Yang, ICLR 2020): SGD with
    Nesterov momentum 0.9, learning rate 0.1 annealed to 0 by a cosine schedule, weight decay
    5e-4. Logs ``train_loss``, ``val_loss`` and ``val_acc`` (torchmetrics) once per epoch.

    Args:
        network: The network to train.
        num_classes: Number of classes.
        lr: Initial learning rate.
        momentum: SGD momentum.
        weight_decay: L2 weight decay.
        nesterov: Use Nesterov momentum.
        epochs: Length of the cosine schedule in epochs.
    """

    def __init__(
        self,
        network: nn.Module,
        *,
        num_classes: int,
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        nesterov: bool = True,
        epochs: int = 1,
    ) -> None:
        super().__init__()
        self.network = network
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.nesterov = nesterov
        self.epochs = epochs
        self.loss = nn.CrossEntropyLoss()
        self.val_accuracy = MulticlassAccuracy(num_classes=num_classes, average="micro")
        self.test_accuracy = MulticlassAccuracy(num_classes=num_classes, average="micro")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        images, labels = batch
        loss = self.loss(self(images), labels)
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"The training loss became {loss.item()} at epoch {self.current_epoch}; "
                f"lower the learning rate (now {self.lr})."
            )
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(labels))
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        images, labels = batch
        logits = self(images)
        self.val_accuracy(logits, labels)
        self.log("val_loss", self.loss(logits, labels), batch_size=len(labels))
        self.log("val_acc", self.val_accuracy, batch_size=len(labels))

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        images, labels = batch
        self.test_accuracy(self(images), labels)
        self.log("test_acc", self.test_accuracy, batch_size=len(labels))

    def configure_optimizers(self) -> dict[str, object]:
        optimizer = torch.optim.SGD(
            self.parameters(),
            lr=self.lr,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            nesterov=self.nesterov and self.momentum > 0,
        )
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(1, self.epochs), eta_min=0.0
        )
        return {"optimizer": optimizer, "lr_scheduler": schedule}
