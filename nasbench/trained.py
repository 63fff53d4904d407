"""The evaluator of the embedded tasks: build, train with the shared recipe, score, all cached."""
from __future__ import annotations

import logging
import time
import torch
from torch import nn

from nasbench.evaluator import Evaluator, SearchSpace
from nasbench.records import Architecture, Cost, Evaluation, Fidelity, Status
from nasbench.tasks.base import Task
from nasbench.training import Diverged, Recipe, recalibrate_batchnorm, task_recipe, train, training_subset

log = logging.getLogger(__name__)


class TrainingEvaluator(Evaluator):
    """Trains ``arch`` on the task's train split with one shared recipe and scores val or test.

    The shared recipe is the task's (``task_recipe``: the defaults with the task's changes) unless
    ``recipe`` replaces it, as a calibration screen does.

    Results are memoised by (architecture, fidelity, seed, split, recipe). The runner creates one
    evaluator per search, so the memo serves repeats within that search (each still charged).
    ``latency``: fill ``Cost.latency_ms`` from the space's per-machine latency table (NaN when
    the space has none); no forward pass is ever timed per architecture.

    ``recipe`` (of ``evaluate``, ``compute``, ``train_model``): train with that recipe instead of
    the shared one (a recipe search's proposal, ``nasbench.recipes``); ``fidelity.epochs`` are
    the epochs run, of a schedule ``recipe.epochs`` long. None: the shared recipe, as always.
    """

    def __init__(self, space: "SearchSpace", task: Task, recipe: Recipe | None = None, latency: bool = True) -> None:
        self.space = space
        self.task = task
        self.task_name = task.name
        self.metric_name = task.metric_name
        self.recipe = task_recipe(task) if recipe is None else recipe
        self.latency = latency
        self.search_fidelity = Fidelity(task.search_epochs)
        self.final_fidelity = Fidelity(task.final_epochs)
        self._costs: dict[Architecture, Cost] = {}
        self._results: dict[tuple[Architecture, Fidelity, int, str, Recipe | None], Evaluation] = {}

    def cost(self, arch: Architecture) -> Cost:
        if arch not in self._costs:
            self._costs[arch] = self.space.cost(arch, self.task, latency=self.latency)
        return self._costs[arch]

    def compute(self, arch: Architecture, fidelity: Fidelity, split: str = "val", recipe: Recipe | None = None) -> float:
        """Training (3 passes per sample), BatchNorm recalibration and scoring (1 pass each).

        The epochs run are ``fidelity.epochs`` whatever the recipe; mixing and EMA add no pass.
        """
        recipe = self.recipe if recipe is None else recipe
        n_train = len(training_subset(self.task.split("train"), fidelity, 0))
        n_recalibration = min(n_train, recipe.bn_recalibration_samples)
        n_eval = len(self.task.split(split))
        return float(self.cost(arch).macs) * (3 * n_train * fidelity.epochs + n_recalibration + n_eval)

    def evaluate(
        self, arch: Architecture, fidelity: Fidelity, seed: int, split: str = "val", recipe: Recipe | None = None
    ) -> Evaluation:
        if recipe is not None and not isinstance(recipe, Recipe):
            raise TypeError(f"recipe must be a Recipe, got {type(recipe).__name__}")
        key = (arch, fidelity, seed, split, recipe)
        if key not in self._results:
            self._results[key] = self._train_and_score(arch, fidelity, seed, split, recipe)
        return self._results[key]

    def train_model(self, arch: Architecture, fidelity: Fidelity, seed: int, recipe: Recipe | None = None) -> nn.Module:
        """A freshly built ``arch`` trained with the shared recipe (or ``recipe``), BatchNorm statistics recalibrated."""
        recipe = self.recipe if recipe is None else recipe
        torch.manual_seed(seed)
        model = self.space.build(arch, self.task)
        data = training_subset(self.task.split("train"), fidelity, seed)
        train(model, self.task, data, fidelity.epochs, seed, recipe)
        recalibrate_batchnorm(model, data, recipe.bn_recalibration_samples, recipe.batch_size)
        return model

    def _train_and_score(
        self, arch: Architecture, fidelity: Fidelity, seed: int, split: str, recipe: Recipe | None = None
    ) -> Evaluation:
        start = time.perf_counter()
        status, metric = Status.OK, float("nan")
        try:
            model = self.train_model(arch, fidelity, seed, recipe)
            metric = float(self.task.score(model, self.task.split(split)))
        except Diverged as exc:
            status = Status.DIVERGED
            log.warning("%s diverged on %s: %s", arch.key, self.task_name, exc)
        except (RuntimeError, ValueError) as exc:
            status = Status.FAILED
            log.warning("%s failed on %s: %s", arch.key, self.task_name, exc)
        return Evaluation(
            arch=arch,
            task=self.task_name,
            fidelity=fidelity,
            metric=metric,
            cost=self.cost(arch),
            compute=self.compute(arch, fidelity, split, recipe),
            wall_seconds=time.perf_counter() - start,
            status=status,
            split=split,
            seed=seed,
            recipe=None if recipe is None else recipe.to_dict(),
        )
