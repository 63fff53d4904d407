"""Data-free proxies: seeded, finite on both spaces, faithful where it is checkable, charged before they run."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from nasbench.errors import BudgetExhausted, ConfigError
from nasbench.proxies import PROXIES, Proxy, Subject, get_proxy
from nasbench.proxies.combined import quantile_of
from nasbench.proxies.entropy import Zen, ZenDet
from nasbench.proxies.network import gaussian_init, replace_layers
from nasbench.tasks import get_task
from nasbench.tasks.nb201 import NB201Evaluator
from nasbench.trained import TrainingEvaluator
from spaces import get_space
from spaces.mobile import MobileSpace
from spaces.nb201 import NB201Space
from synthetic import search_context

#: Small settings of the network-running proxies: the code paths of the defaults, fast.
SMALL = {"zen": Zen(batch=4), "zendet": ZenDet(batch=4, repeats=1), "synflow": get_proxy("synflow")}
DEAD_CELL = (0,) * 6  # every NB201 edge 'none': the network's output does not depend on its input


def nb201_subject(genes, dataset="imagenet16"):
    space = NB201Space()
    evaluator = NB201Evaluator(space, dataset)
    return Subject(space, space.make(genes), evaluator.network_task(), evaluator.cost)


def mobile_subject(arch, task="det", space=None):
    space = space or get_space("mobile")
    return Subject(space, arch, get_task(task), lambda a: space.cost(a, get_task(task), latency=False))


def random_subjects(n, seed=0):
    rng = np.random.default_rng(seed)
    nb201, mobile = NB201Space(), get_space("mobile")
    return [nb201_subject(nb201.sample(rng).genes) for _ in range(n)] + [
        mobile_subject(mobile.sample(rng), task) for task in ("cls", "det", "seg") for _ in range(n // 3)
    ]


@pytest.mark.parametrize("name", ["zen", "zendet", "synflow", "macs", "params"])
def test_same_network_and_seed_give_the_same_score(name):
    proxy = SMALL.get(name, PROXIES[name])
    for subject in random_subjects(3, seed=1)[::3]:
        before = torch.random.get_rng_state()
        assert proxy.score(subject, seed=5) == proxy.score(subject, seed=5)
        assert torch.equal(torch.random.get_rng_state(), before)  # the global RNG is left alone


def test_the_seed_draws_the_network_and_inputs():
    subject = nb201_subject((3, 3, 2, 1, 3, 4))
    assert SMALL["zen"].score(subject, 0) != SMALL["zen"].score(subject, 1)


@pytest.mark.parametrize("name", ["zen", "zendet", "synflow"])
def test_scores_are_finite_on_random_architectures_of_both_spaces(name):
    subjects = random_subjects(12, seed=2) + [nb201_subject(DEAD_CELL)]
    assert all(math.isfinite(SMALL[name].score(s, 0)) for s in subjects)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["zen", "zendet", "synflow", "macs", "params"])
def test_default_proxies_are_finite_on_200_architectures_of_each_space(name):
    proxy = PROXIES[name]
    rng = np.random.default_rng(3)
    nb201, mobile = NB201Space(), get_space("mobile")
    subjects = [nb201_subject(nb201.sample(rng).genes, "cifar10") for _ in range(200)]
    subjects += [mobile_subject(mobile.sample(rng), ("cls", "det", "seg")[i % 3]) for i in range(200)]
    assert all(math.isfinite(proxy.score(s, 0)) for s in subjects)


def test_a_dead_network_scores_below_every_live_one():
    dead = nb201_subject(DEAD_CELL)
    one_conv = (0, 0, 0, 2, 0, 0)  # a single 1x1 convolution from the cell's input to its output
    live = [nb201_subject(g) for g in [(1,) * 6, (4,) * 6, one_conv]]
    for proxy in SMALL.values():
        assert proxy.score(dead, 0) < min(proxy.score(s, 0) for s in live)


def test_zen_rises_along_a_width_sweep_of_one_plain_network():
    widths = (8, 12, 16, 24, 32, 48)
    space = MobileSpace(widths=(widths,) * 4, depths=(2,), kernels=(3,), expansions=(3,))
    sweep = [space.make([0, w] + [0, 0] * 2 + [0, w] + [0, 0] * 2 + [0, w] + [0, 0] * 2 + [0, w] + [0, 0] * 2)
             for w in range(len(widths))]
    scores = [get_proxy("zen").score(mobile_subject(a, "cls", space), 0) for a in sweep]
    assert all(b > a for a, b in zip(scores, scores[1:])), scores


def test_zen_scores_the_network_without_residual_links():
    space = get_space("mobile")
    arch = space.make([2, 0, 0, 1, 0, 1, 0, 1] * 4)  # depth 3 with equal widths: residual blocks
    with_links = space.backbone(arch, get_task("cls"))
    plain = space.backbone(arch, get_task("cls"), residual=False)
    assert any(getattr(m, "residual", False) for m in with_links.modules())
    assert not any(getattr(m, "residual", False) for m in plain.modules())
    assert space.build(arch, get_task("cls"))(torch.randn(2, *get_task("cls").input_shape)).shape == (2, 10)  # build(arch, task) unchanged
    plain_nb201 = NB201Space().backbone(NB201Space().make((3,) * 6), nb201_subject(DEAD_CELL).task, residual=False)
    assert all(b.shortcut is None for b in plain_nb201.modules() if hasattr(b, "shortcut"))


def test_zendet_weights_align_on_the_deepest_stage():
    proxy = get_proxy("zendet")
    assert proxy.stage_weights(5) == (0, 0, 1, 1, 6)
    assert proxy.stage_weights(4) == (0, 1, 1, 6)  # mobile: the stem opens the first of its four stages
    assert proxy.stage_weights(3) == (1, 1, 6)  # NAS-Bench-201
    assert proxy.stage_weights(6) == (0, 0, 0, 1, 1, 6)


def test_zendet_is_the_weighted_log_std_of_the_plain_stages_plus_log_channels():
    """Renormalising every block is exact: the plain network is linear, so the accumulated log-stds up to
    stage s equal the log std of stage s's output computed in one go without renormalisation."""
    subject = nb201_subject((3, 1, 2, 4, 3, 1))
    torch.manual_seed(7)
    net = replace_layers(subject.space.backbone(subject.arch, subject.task, residual=False), (nn.BatchNorm2d, nn.ReLU))
    gaussian_init(net).double()  # float64: without renormalisation the deep stages overflow float32
    features = net(torch.randn(2, *subject.input_shape).double())
    entropy = [math.log(f.std().item()) + math.log(c) for f, c in zip(features, net.channels)]
    for s, expected in enumerate(entropy):
        weights = tuple(float(i == s) for i in range(3))
        assert ZenDet(batch=2, repeats=1, weights=weights).score(subject, 7) == pytest.approx(expected, rel=1e-4)


def test_quantile_of_is_the_interpolated_mid_rank_and_keeps_extremes_ordered():
    reference = np.array([1.0, 2.0, 2.0, 4.0])
    assert quantile_of(reference, 1.0) == 0.125 and quantile_of(reference, 2.0) == 0.5  # ties share a mid-rank
    assert quantile_of(reference, 3.0) == pytest.approx((0.5 + 0.875) / 2)
    assert quantile_of(reference, 0.0) < 0.125 < 0.875 < quantile_of(reference, 5.0) < quantile_of(reference, 9.0)


def test_combined_proxy_is_monotone_in_each_component_and_charges_their_sum():
    combined = get_proxy("macs+params")
    assert combined.passes == 0 and get_proxy("synflow+macs").passes == 3
    small, large = nb201_subject((2,) * 6), nb201_subject((3,) * 6)  # all 1x1 vs all 3x3 convolutions
    assert combined.score(large, 0) > combined.score(small, 0)
    with pytest.raises(ConfigError, match="unknown proxy 'nope'"):
        get_proxy("macs+nope")


class Spy(Proxy):
    """A proxy that records whether it ran."""

    name = "spy"
    passes = 10.0

    def __init__(self):
        self.calls = 0

    def _score(self, subject, seed):
        self.calls += 1
        return 1.0


def nb201_ctx(budget, unit="macs"):
    """``(ctx, ledger)`` of a search on NAS-Bench-201 imagenet16."""
    space = NB201Space()
    ctx, ledger, _ = search_context(space, {"imagenet16": NB201Evaluator(space, get_task("imagenet16", ("train", "val")))},
                                    budget, unit, k=5)
    return ctx, ledger


def test_score_charges_the_declared_compute_before_running():
    spy = Spy()
    ctx, ledger = nb201_ctx(1e12)
    arch = ctx.space.make((3,) * 6)
    assert ctx.score(arch, spy) == 1.0
    assert ledger.used == 10.0 * ctx.cost(arch).macs and ledger.spent.queries == 1
    tight, tight_ledger = nb201_ctx(5.0 * ctx.cost(arch).macs)
    with pytest.raises(BudgetExhausted):
        tight.score(arch, spy)
    assert spy.calls == 1 and tight_ledger.used == 0


def test_a_proxy_given_by_a_strategy_sees_a_task_view_and_ctx_costs_only():
    from nasbench.tasks.base import SearchView

    seen = []

    class Nosy(Spy):
        def _score(self, subject, seed):
            seen.append(subject)
            return 1.0

    ctx, _ = nb201_ctx(1e12)
    arch = ctx.space.make((3,) * 6)
    ctx.score(arch, Nosy())
    (subject,) = seen
    assert isinstance(subject.task, SearchView) and subject.costs.func.__self__ is ctx
    assert subject.cost == ctx.cost(arch)


def test_a_score_counts_as_one_query_under_a_query_budget():
    ctx, _ = nb201_ctx(2, unit="queries")
    arch = ctx.space.make((3,) * 6)
    ctx.score(arch, "macs")
    ctx.score(arch, "macs")
    with pytest.raises(BudgetExhausted):
        ctx.score(arch, "macs")


def test_unknown_proxies_and_spaces_without_backbone_are_refused():
    with pytest.raises(ConfigError, match="choose from"):
        get_proxy("zenn")
    from synthetic import SyntheticEvaluator, ToySpace

    toy = ToySpace()
    task = nb201_subject(DEAD_CELL).task
    subject = Subject(toy, toy.sample(np.random.default_rng(0)), task, SyntheticEvaluator(toy, "a").cost)
    with pytest.raises(ConfigError, match="backbone"):
        get_proxy("zen").score(subject, 0)


def test_embedded_evaluator_exposes_its_task_for_building():
    evaluator = TrainingEvaluator(get_space("mobile"), get_task("seg"))
    assert evaluator.network_task() is get_task("seg")
