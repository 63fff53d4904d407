"""The supernet strategies dnas and fbnetv5 on tiny schedules: sources, schedule, ledger, proposals."""
import math

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from nasbench.errors import ConfigError
from nasbench.tasks import SEARCH_SPLITS, get_task
from nasbench.trained import TrainingEvaluator
from spaces import latency_lut
from spaces.mixed import from_arch
from spaces.mobile import MobileSpace
from strategies import get_strategy
from spaces.mixed import ArchDistribution
from strategies.supernet_search import Batch, Sample, Schedule, SupernetSearch, fbnet_loss, make_sources, tau
from synthetic import search_context

SMALL = dict(widths=((4, 8), (8, 12), (8, 12), (12, 16)), depths=(1, 2), kernels=(3, 5), expansions=(1, 2))
TINY = dict(epochs=2, warmup=0.5, batch_size=256, arch_batch_size=128, betas=(0.0, 6.0))


@pytest.fixture(autouse=True)
def quick_lut(tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(latency_lut, "ROUNDS", 1)
    monkeypatch.setattr(latency_lut, "REPEATS", 1)


def context(tasks, budget=1e12, space=None):
    """``(ctx, ledger, archive)`` of a search of ``tasks`` on the small mobile space."""
    space = space or MobileSpace(**SMALL)
    return search_context(space, {t: TrainingEvaluator(space, get_task(t, SEARCH_SPLITS)) for t in tasks}, budget)


def test_schedule_and_loss_follow_fbnet():
    assert tau(0, 20) == 5.0 and tau(20, 20) == pytest.approx(5.0 * math.exp(-0.045 * 90))
    assert tau(10, 90) == pytest.approx(5.0 * math.exp(-0.45))
    ce = torch.tensor(2.0)
    assert float(fbnet_loss(ce, 1000.0, 0.2, 0.0)) == pytest.approx(0.4)
    assert float(fbnet_loss(ce, 1000.0, 0.2, 0.6)) == pytest.approx(0.4 * math.log(1000.0) ** 0.6)


def test_tasks_sharing_images_form_one_source_cut_80_20():
    sources = make_sources(context(("cls", "det", "seg"))[0], np.random.default_rng(0))
    assert [s.tasks for s in sources] == [("cls",), ("det", "seg")]
    canvases = sources[1]
    assert len(canvases.weights) == 800 and len(canvases.arch) == 200
    assert {k.split("/")[0] for k in canvases.weights.targets} == {"det", "seg"}


def test_a_step_is_charged_the_macs_that_ran_one_network_or_every_candidate_of_a_mixture():
    run = SupernetSearch(context(("det", "seg"))[0], Schedule(**{k: TINY[k] for k in ("epochs", "warmup", "batch_size", "arch_batch_size")}))
    (source,) = run.sources
    rng = np.random.default_rng(0)
    run.net.eval()
    x = source.weights.inputs[:1]
    for _ in range(3):
        sample = Sample(choice=from_arch(run.space, run.space.sample(rng)))
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            run.net(x, sample.choice, source.tasks)
        assert run.step_macs(source, sample) == counter.get_total_flops() // 2
    mixture = Sample(mixture=ArchDistribution(run.space).gumbel(5.0, run.generator)[2])
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        run.net(x, None, source.tasks, mixture=mixture.mixture)
    assert run.step_macs(source, mixture) == counter.get_total_flops() // 2
    assert run.step_macs(source, mixture) > run.step_macs(source, sample)


def test_hard_sampling_ignores_the_temperature_soft_weights_do_not():
    dist = ArchDistribution(MobileSpace(**SMALL))
    with torch.no_grad():
        for logit in dist.logits:
            logit.copy_(torch.randn(logit.shape))
    hot = dist.gumbel(5.0, torch.Generator().manual_seed(1))
    cold = dist.gumbel(0.1, torch.Generator().manual_seed(1))
    assert hot[0] == cold[0]  # argmax of theta + Gumbel noise: the same architecture at any temperature
    entropy = lambda ms: float(sum(-(m * m.clamp_min(1e-12).log()).sum() for m in (x.detach() for x in ms)))
    assert entropy(hot[2]) > entropy(cold[2])


@pytest.mark.parametrize("mixture", ["soft", "hard"])
def test_dnas_proposes_at_most_k_within_the_budget_and_records_their_estimates(mixture):
    ctx, ledger, archive = context(("cls",))
    strategy = get_strategy("dnas").create(**TINY, mixture=mixture)
    archs = strategy.run(ctx)
    assert 1 <= len(archs) <= ctx.k and len(set(archs)) == len(archs)
    assert 0 < ledger.spent.macs <= ledger.budget
    recorded = archive.evaluations("cls")
    assert sorted(e.arch.key for e in recorded) == sorted(a.key for a in archs) and all(e.ok and 0 <= e.metric <= 1 for e in recorded)
    assert {e.extra.get("beta") for e in recorded} >= {0.0}
    taus = [row["tau"] for row in strategy.trace_]
    assert len(taus) == 1 and taus[0] == pytest.approx(tau(1, 2))  # the one epoch after the warm-up


def test_the_default_is_fbnets_soft_mixture():
    assert get_strategy("dnas").create().mixture == "soft"
    assert get_strategy("dnas").create().epochs is None and get_strategy("fbnetv5").create().epochs is None


def test_dnas_spends_its_budget_by_default():
    ctx, ledger, archive = context(("cls",), budget=4e9)
    get_strategy("dnas").create(**{**TINY, "epochs": None}).run(ctx)
    assert 0.9 * ledger.budget <= ledger.spent.macs <= ledger.budget
    assert archive.evaluations("cls")


def test_dnas_cuts_its_epochs_to_the_budget_and_still_proposes():
    ctx, ledger, _ = context(("cls",), budget=2e8)
    archs = get_strategy("dnas").create(**{**TINY, "epochs": 50, "warmup": 0.2}).run(ctx)
    assert archs and ledger.spent.macs <= 2e8


def test_fbnetv5_updates_every_tasks_distributions_at_every_step():
    ctx, _, archive = context(("cls", "det"))
    strategy = get_strategy("fbnetv5").create(**{**TINY, "epochs": 1, "warmup": 0.0})
    found = strategy.run(ctx)
    assert set(found) == {"cls", "det"} and all(1 <= len(v) <= ctx.k for v in found.values())
    assert strategy.updates_ == {"cls": strategy.steps_["arch"], "det": strategy.steps_["arch"]} and strategy.steps_["arch"] > 0
    single = get_strategy("fbnetv5").create(**{**TINY, "epochs": 1, "warmup": 0.0})
    single.run(context(("cls",))[0])
    assert strategy.updates_["cls"] >= single.updates_["cls"]  # the other source does not take cls's steps
    assert {e.task for e in archive.evaluations()} == {"cls", "det"}


@pytest.mark.parametrize("name, params, message", [
    ("dnas", {"cost": "joules"}, "cost='joules' is invalid; valid: one of 'latency', 'macs'"),
    ("dnas", {"lut": "fresh"}, "lut='fresh' is invalid; valid: one of 'cached', 'rebuild'"),
    ("fbnetv5", {"betas": ()}, r"betas=\(\) is invalid; valid: a tuple of 1-64"),
    ("fbnetv5", {"warmup": 1.0}, r"warmup=1.0 is invalid; valid: a number in \[0, 1\)"),
    ("dnas", {"mixture": "both"}, "mixture='both' is invalid; valid: one of 'soft', 'hard'"),
])
def test_bad_settings_are_refused_up_front(name, params, message):
    with pytest.raises(ConfigError, match=message):
        get_strategy(name).create(**params)


def test_the_supernet_strategies_refuse_other_spaces_and_tabular_tasks_up_front():
    from spaces.nb201 import NB201Space

    for name in ("dnas", "fbnetv5"):
        with pytest.raises(ConfigError, match="mixed-op supernet of the mobile space"):
            get_strategy(name).create(**TINY).check(NB201Space(), {"cls": get_task("cls", SEARCH_SPLITS)}, 3)
        with pytest.raises(ConfigError, match="no data to train on"):
            get_strategy(name).create(**TINY).check(MobileSpace(**SMALL), {"cifar10": get_task("cifar10", SEARCH_SPLITS)}, 3)
        get_strategy(name).create(**TINY).check(MobileSpace(**SMALL), {"cls": get_task("cls", SEARCH_SPLITS)}, 3)
