"""Recipes: the new training fields, the recipe space, evaluating with a recipe and recommending one through ctx."""
import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nasbench.errors import BudgetExhausted, ConfigError
from nasbench.recipes import RecipeSpace, recipe_space
from nasbench.records import Fidelity
from nasbench.tasks import SEARCH_SPLITS, get_task
from nasbench.tasks.base import Split
from nasbench.trained import TrainingEvaluator
from nasbench.training import Recipe, _LabelMixer, train
from spaces import get_space
from synthetic import SyntheticEvaluator, ToySpace, search_context
from test_context import assert_closed, reachable

TINY = Fidelity(1, 0.25)


# -- a tiny classification problem (fast, exact comparisons) -----------------------------------
class TinyTask:
    name = "tiny"

    def loss(self, outputs, targets):
        return F.cross_entropy(outputs, targets["label"])


def tiny_data(n=96, targets="label"):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, 4, 4, generator=g)
    y = torch.randint(0, 3, (n,), generator=g)
    return Split(x, {"label": y} if targets == "label" else {"mask": y.float()})


def tiny_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3))


def weights(model):
    return torch.cat([v.flatten().float() for v in model.state_dict().values()])


def old_train(model, task, data, epochs, seed, recipe):
    """``nasbench.training.train`` as it was before recipes had fields of their own (verbatim)."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps = epochs * math.ceil(len(data) / recipe.batch_size)
    warmup = max(1, int(recipe.warmup_fraction * steps))

    def lr_factor(step):
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    model.train()
    seen = 0
    for _ in range(epochs):
        for inputs, targets in data.batches(recipe.batch_size, generator):
            if len(inputs) < 2:
                continue
            loss = task.loss(model(inputs), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
            optimizer.step()
            schedule.step()
            seen += len(inputs)
    return seen


def trained(recipe=Recipe(), epochs=3, fn=train, data=None):
    model = tiny_model()
    fn(model, TinyTask(), data or tiny_data(), epochs, 7, recipe)
    return weights(model)


# -- training ----------------------------------------------------------------------------------
def test_recipe_defaults_leave_training_bit_identical():
    reference = trained(fn=old_train)
    assert torch.equal(trained(), reference)
    assert torch.equal(trained(Recipe(epochs=3)), reference)  # a full schedule stated explicitly


def test_recipe_defaults_leave_the_real_task_training_bit_identical():
    space, task = get_space("mobile"), get_task("cls", SEARCH_SPLITS)
    data = task.split("train").subset(range(200))
    runs = []
    for fn in (old_train, train):
        torch.manual_seed(0)
        model = space.build(space.reference(), task)
        fn(model, task, data, 1, 3, Recipe())
        runs.append(weights(model))
    assert torch.equal(*runs)


@pytest.mark.parametrize("field, value", [("label_smoothing", 0.1), ("mixup", 0.2), ("cutmix", 0.5), ("ema", 0.2),
                                          ("lr", 1e-2), ("weight_decay", 1e-3)])
def test_each_recipe_field_changes_training_deterministically(field, value):
    recipe = dataclasses.replace(Recipe(), **{field: value})
    first = trained(recipe)
    assert torch.equal(first, trained(recipe))
    assert not torch.equal(first, trained())


def test_label_smoothing_is_torch_label_smoothing():
    outputs, labels = torch.randn(8, 5), torch.randint(0, 5, (8,))
    mixer = _LabelMixer(Recipe(label_smoothing=0.15), TinyTask(), 0)
    assert torch.allclose(mixer._loss(outputs, {"label": labels}), F.cross_entropy(outputs, labels, label_smoothing=0.15))


def test_an_early_stopped_schedule_differs_from_a_short_full_one():
    data = tiny_data(256)  # 4 steps an epoch: the two schedules part after the second step
    full_short = trained(Recipe(), epochs=1, data=data)
    stopped = trained(Recipe(epochs=3), epochs=1, data=data)
    assert not torch.equal(full_short, stopped)  # the learning rate is still high after epoch 1 of 3
    assert torch.equal(stopped, trained(Recipe(epochs=3), epochs=1, data=data))
    with pytest.raises(ConfigError, match="schedule"):
        trained(Recipe(epochs=2), epochs=3)


def test_label_mixing_is_refused_without_class_labels():
    with pytest.raises(ConfigError, match="classification"):
        trained(Recipe(mixup=0.2), data=tiny_data(targets="mask"))


@pytest.mark.parametrize("bad", [{"lr": 0.0}, {"label_smoothing": 1.0}, {"cutmix": 1.5}, {"ema": -0.1},
                                 {"epochs": 0}, {"epochs": 2.5}, {"mixup": float("nan")}])
def test_invalid_recipes_are_refused(bad):
    with pytest.raises(ValueError):
        Recipe(**bad)


def test_recipe_round_trips_through_a_dict():
    recipe = Recipe(lr=4e-3, mixup=0.3, ema=0.2, epochs=np.int64(7))
    assert recipe.epochs == 7 and type(recipe.epochs) is int
    assert Recipe.from_dict(recipe.to_dict()) == recipe
    with pytest.raises(ValueError, match="unknown"):
        Recipe.from_dict({"lr": 1e-3, "dropout": 0.1})


# -- the recipe space ----------------------------------------------------------------------------
def test_recipe_space_maps_the_unit_cube_into_itself():
    space = RecipeSpace(Recipe(), 10, classification=True)
    assert space.names == ("lr", "weight_decay", "label_smoothing", "mixup", "cutmix", "ema", "epochs")
    rng = np.random.default_rng(0)
    for _ in range(50):
        u = rng.random(space.n_dims)
        recipe = space.check(space.from_unit(u))
        assert 5 <= recipe.epochs <= 10 and 1e-3 <= recipe.lr <= 1e-2 and recipe.ema in (0.0, 0.2)
        back = space.to_unit(recipe)
        continuous = [i for i, d in enumerate(space.dimensions) if d.kind == "real"]
        assert np.allclose(back[continuous], u[continuous])
        assert space.contains(space.mutate(recipe, rng))
    assert space.check(space.default()) == dataclasses.replace(Recipe(), epochs=10)


def test_recipe_space_refuses_what_it_does_not_search():
    space = RecipeSpace(Recipe(), 10, classification=False)
    assert "mixup" not in space.names
    good = space.default()
    assert space.contains(good)
    for bad, match in [(dataclasses.replace(good, lr=0.5), "outside"), (dataclasses.replace(good, epochs=11), "outside"),
                       (dataclasses.replace(good, epochs=None), "outside"), (dataclasses.replace(good, batch_size=32), "not searched"),
                       (dataclasses.replace(good, mixup=0.1), "no class labels"), ("lr=1e-3", "expected a Recipe")]:
        with pytest.raises(ConfigError, match=match):
            space.check(bad)


def test_recipe_space_of_each_task():
    assert "mixup" in recipe_space(get_task("cls", SEARCH_SPLITS), Recipe()).names
    assert "mixup" not in recipe_space(get_task("seg", SEARCH_SPLITS), Recipe()).names
    assert recipe_space(get_task("cifar10", SEARCH_SPLITS), Recipe()) is None


# -- the evaluator ---------------------------------------------------------------------------------
def cls_evaluator():
    return TrainingEvaluator(get_space("mobile"), get_task("cls", SEARCH_SPLITS), latency=False)


def test_evaluator_trains_with_a_recipe_deterministically_and_caches_by_recipe():
    evaluator = cls_evaluator()
    arch = evaluator.space.make([0] * evaluator.space.n_genes)
    recipe = Recipe(lr=5e-3, label_smoothing=0.1, epochs=3)
    a = evaluator.evaluate(arch, TINY, 0, recipe=recipe)
    b = cls_evaluator().evaluate(arch, TINY, 0, recipe=recipe)
    shared = evaluator.evaluate(arch, TINY, 0)
    assert a.metric == b.metric and a.recipe == recipe.to_dict() and shared.recipe is None
    assert evaluator.evaluate(arch, TINY, 0, recipe=recipe) is a and shared is not a
    assert evaluator.evaluate(arch, TINY, 0, recipe=dataclasses.replace(recipe, lr=6e-3)) is not a
    assert "recipe" in a.to_dict() and "recipe" not in shared.to_dict()
    assert evaluator.compute(arch, TINY, recipe=recipe) == evaluator.compute(arch, TINY)  # same passes: same charge


# -- through the context ---------------------------------------------------------------------------
def cls_ctx(budget=1e15, **kwargs):
    space = get_space("mobile")
    evaluator = TrainingEvaluator(space, get_task("cls", SEARCH_SPLITS), latency=False)
    return search_context(space, {"cls": evaluator}, budget, **kwargs)


def test_a_recipe_is_charged_the_epochs_it_runs():
    ctx, ledger, archive = cls_ctx()
    arch = ctx.space.make([0] * ctx.space.n_genes)
    final = get_task("cls").final_epochs
    whole = dataclasses.replace(ctx.recipe_space().default(), epochs=final)
    one = ctx.evaluate(arch, fidelity=Fidelity(1, 0.1), recipe=whole)  # early stopping: 1 of the epochs
    used = ledger.used
    assert used == one.compute
    two = ctx.evaluate(arch, fidelity=Fidelity(2, 0.1), recipe=whole)  # early stopping: 2 of the epochs
    assert ledger.used - used == pytest.approx(two.compute) and two.compute > one.compute
    assert two.fidelity == Fidelity(2, 0.1) and two.recipe["epochs"] == final
    assert len(archive) == 2 and [e.evaluation.recipe for e in archive] == [whole.to_dict()] * 2
    with pytest.raises(ConfigError, match="exceeds"):
        ctx.evaluate(arch, fidelity=Fidelity(final + 1, 0.1), recipe=whole)


def test_without_a_fidelity_a_recipe_trains_its_whole_schedule_and_its_epochs_set_the_charge():
    ctx, ledger, _ = cls_ctx(budget=1e9)
    arch = ctx.space.make([0] * ctx.space.n_genes)
    recipes = ctx.recipe_space()
    epochs = next(d for d in recipes.dimensions if d.name == "epochs")
    shortest, longest = (dataclasses.replace(recipes.default(), epochs=int(e)) for e in (epochs.low, epochs.high))
    evaluator = TrainingEvaluator(ctx.space, get_task("cls", SEARCH_SPLITS), latency=False)
    assert evaluator.compute(arch, Fidelity(longest.epochs)) > evaluator.compute(arch, Fidelity(shortest.epochs))
    small = Fidelity(shortest.epochs, 0.05)
    e = ctx.evaluate(arch, fidelity=small, recipe=shortest)
    assert e.compute == evaluator.compute(arch, small)
    # A whole schedule of the longest recipe costs more than the budget left: refused before it runs.
    with pytest.raises(BudgetExhausted):
        ctx.evaluate(ctx.space.reference(), recipe=longest)


def test_recipes_outside_the_space_are_refused_before_anything_is_charged():
    ctx, ledger, archive = cls_ctx()
    arch = ctx.space.make([0] * ctx.space.n_genes)
    final = get_task("cls").final_epochs
    for bad in (Recipe(lr=0.5, epochs=final), Recipe(epochs=20), Recipe(batch_size=8, epochs=final)):
        with pytest.raises(ConfigError):
            ctx.evaluate(arch, fidelity=TINY, recipe=bad)
        with pytest.raises(ConfigError):
            ctx.recommend(arch, bad)
    assert ledger.used == 0 and len(archive) == 0


def test_recommend_fills_the_runners_dict_which_ctx_does_not_expose():
    recipes: dict = {}
    ctx, ledger, _ = cls_ctx(recipes=recipes)
    arch = ctx.space.make([0] * ctx.space.n_genes)
    first = ctx.recipe_space().default()
    second = dataclasses.replace(first, lr=5e-3)
    ctx.recommend(arch, first)
    ctx.recommend(arch, second)  # the latest wins
    assert recipes == {"cls": {arch.key: second}} and ledger.used == 0
    assert ctx.recipe_space() is not None  # cached in the private state from here on
    assert not any(obj is recipes or obj is recipes["cls"] for _, obj in reachable(ctx))
    assert_closed(ctx)


def test_a_tabular_task_has_no_recipe_space():
    space = ToySpace()
    ctx, ledger, _ = search_context(space, {"a": SyntheticEvaluator(space, "a")})
    arch = space.sample(ctx.rng)
    assert ctx.recipe_space() is None
    with pytest.raises(ConfigError, match="fixed"):
        ctx.evaluate(arch, recipe=Recipe(epochs=2))
    with pytest.raises(ConfigError, match="fixed"):
        ctx.recommend(arch, Recipe(epochs=2))
    assert ledger.used == 0


def test_nb201_recipe_is_fixed_by_the_table():
    space = get_space("nb201")
    ctx, _, _ = search_context(space, {"cifar10": get_task("cifar10", SEARCH_SPLITS).evaluator(space)}, 100, "queries")
    assert ctx.recipe_space() is None
    with pytest.raises(ConfigError, match="fixed"):
        ctx.evaluate(space.sample(ctx.rng), recipe=Recipe(epochs=12))
