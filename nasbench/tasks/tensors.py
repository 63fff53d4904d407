"""Image classification over a user's own tensors: subclass, say where the data are, register.

```python
class MyTask(TensorClassificationTask):
    name, input_shape, num_classes = "mytask", (3, 32, 32), 5
    def load(self, split):                    # "train", "val" or "test"; only the splits this instance holds
        data = np.load(f"/data/mytask_{split}.npz")
        return torch.as_tensor(data["x"]), torch.as_tensor(data["y"])
```
and declare ``mytask = "my_package.tasks:MyTask"`` in the ``nasbench.tasks`` entry-point group.
A search builds the task with ``("train", "val")``: ``load("test")`` is only called by the final
evaluation stage.
"""
from __future__ import annotations

import abc
from typing import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasbench.errors import ConfigError
from nasbench.tasks.base import SPLITS, Split, Task
from nasbench.tasks.common import infer


class PooledClassifier(nn.Module):
    """Global average pool of the coarsest feature, then a linear layer to the class logits."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(channels, num_classes)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        return self.linear(features[-1].mean(dim=(2, 3)))


class TensorClassificationTask(Task):
    """Classification of ``(N, C, H, W)`` float inputs into ``num_classes`` labels; metric: accuracy."""

    metric_name = "accuracy"
    description = "image classification over your own tensors"
    num_classes: int
    search_epochs = 2
    final_epochs = 10

    def __init__(self, splits: Sequence[str] = SPLITS) -> None:
        super().__init__(splits)
        self._built: dict[str, Split] = {}

    @abc.abstractmethod
    def load(self, split: str) -> tuple[Tensor, Tensor]:
        """Inputs ``(N, C, H, W)`` (float) and integer labels ``(N,)`` of ``split``."""

    def split(self, name: str) -> Split:
        self._refuse_split(name)
        if name not in self._built:
            inputs, labels = self.load(name)
            inputs, labels = torch.as_tensor(inputs, dtype=torch.float32), torch.as_tensor(labels, dtype=torch.long)
            if tuple(inputs.shape[1:]) != tuple(self.input_shape) or labels.shape != (len(inputs),):
                raise ConfigError(f"task {self.name!r}: split {name!r} has inputs {tuple(inputs.shape)} and labels "
                                  f"{tuple(labels.shape)}; expected (N, {', '.join(map(str, self.input_shape))}) and (N,)")
            if len(labels) and not (0 <= int(labels.min()) and int(labels.max()) < self.num_classes):
                raise ConfigError(f"task {self.name!r}: split {name!r} has labels outside 0..{self.num_classes - 1}")
            self._built[name] = Split(inputs, {"label": labels})
        return self._built[name]

    def head(self, channels: Sequence[int], strides: Sequence[int], width: int | None = None) -> nn.Module:
        """A pooled linear classifier: no layers of its own, so ``width`` does not apply."""
        return PooledClassifier(channels[-1], self.num_classes)

    def loss(self, outputs: Tensor, targets: Mapping[str, Tensor]) -> Tensor:
        return F.cross_entropy(outputs, targets["label"])

    def score(self, model: nn.Module, split: Split) -> float:
        predicted = infer(model, split.inputs).argmax(dim=1)
        return (predicted == split.targets["label"]).float().mean().item()
