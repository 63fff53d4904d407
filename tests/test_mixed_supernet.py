"""The mixed-op supernet: genotype mapping, exact MACs of what runs, only sampled ops executed, cost model."""
import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from spaces import latency_lut
from nasbench.costs import count_macs
from nasbench.tasks import get_task
from spaces.mixed import ArchDistribution, CostModel, Supernet, active, decisions, from_arch, to_arch
from spaces.mobile import MobileSpace

SMALL = dict(widths=((4, 8), (8, 12), (8, 12), (12, 16)), depths=(1, 2, 3), kernels=(3, 5), expansions=(1, 2))


@pytest.fixture(scope="module")
def space():
    return MobileSpace(**SMALL)


@pytest.fixture
def table(space, tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(latency_lut, "ROUNDS", 1)
    monkeypatch.setattr(latency_lut, "REPEATS", 1)
    return latency_lut.load_table(space, get_task("det"))


def test_choices_round_trip_to_genotypes(space):
    rng = np.random.default_rng(0)
    for _ in range(20):
        arch = space.sample(rng)
        choice = from_arch(space, arch)
        assert to_arch(space, choice) == arch and len(choice) == len(decisions(space))
        depth = space.decode(arch)[0].depth
        assert active(space, choice)[: 2 + space.max_depth] == [True, True] + [j < depth for j in range(space.max_depth)]


@pytest.mark.parametrize("task_name", ["cls", "det"])
def test_supernet_runs_exactly_the_sampled_network(space, task_name):
    task = get_task(task_name)
    net = Supernet(space, {task_name: task}, 1).eval()
    rng = np.random.default_rng(1)
    for _ in range(4):
        arch = space.sample(rng)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            features = net.backbone(torch.zeros(1, *task.input_shape), from_arch(space, arch))
        assert counter.get_total_flops() // 2 == count_macs(space.backbone(arch, task), task.input_shape)
        assert [f.shape[1] for f in features] == [max(w) for w in space.widths]


def test_gumbel_step_trains_only_the_chosen_candidates_and_reaches_the_logits(space):
    task = get_task("cls")
    net, dist = Supernet(space, {"cls": task}, 1), ArchDistribution(space)
    choice, gates, _ = dist.gumbel(5.0, torch.Generator().manual_seed(0))
    x, y = task.split("train").inputs[:8], task.split("train").targets
    loss = task.loss(net(x, choice, ["cls"], gates)["cls"], {"label": y["label"][:8]})
    loss.backward()
    chosen_block = choice[2]
    for c, block in enumerate(net.backbone.slots[0][0]):
        assert (block.depthwise.conv.weight.grad is not None) == (c == chosen_block)
    assert all(theta.grad is not None and theta.grad.abs().sum() > 0 for theta in list(dist.logits)[:3])


def test_cost_model_exact_and_expected(space, table):
    model = CostModel(space, table)
    rng = np.random.default_rng(2)
    for _ in range(5):
        arch = space.sample(rng)
        choice = from_arch(space, arch)
        assert model.of(choice, "macs") == table.backbone_macs(space, arch)
        assert model.of(choice) == pytest.approx(table.latency_ms(space, arch))
    dist = ArchDistribution(space)
    start = model.expected(dist.probs())
    optimizer = torch.optim.SGD(dist.parameters(), lr=10.0)
    for _ in range(20):
        optimizer.zero_grad()
        model.expected(dist.probs(), "macs").backward()
        optimizer.step()
    assert model.expected(dist.probs()) < start
    smallest = space.make(space.bounds[0])
    assert model.of(dist.argmax(), "macs") == table.backbone_macs(space, smallest)


def test_soft_mixture_runs_every_candidate_and_costs_the_mixture_macs(space, table):
    task = get_task("det")
    net = Supernet(space, {"det": task}, 1).eval()
    dist = ArchDistribution(space)
    _, _, soft = dist.gumbel(5.0, torch.Generator().manual_seed(0))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        features = net.backbone(torch.zeros(1, *task.input_shape), None, mixture=soft)
    assert counter.get_total_flops() // 2 == CostModel(space, table).mixture_macs()
    assert [f.shape[1] for f in features] == [max(w) for w in space.widths]


def test_a_one_hot_mixture_is_the_chosen_network():
    space = MobileSpace(**{**SMALL, "depths": (1, 2)})
    task = get_task("cls")
    net = Supernet(space, {"cls": task}, 1).eval()
    rng = np.random.default_rng(3)
    x = task.split("val").inputs[:4]
    for _ in range(3):
        choice = from_arch(space, space.sample(rng))
        onehot = [torch.nn.functional.one_hot(torch.tensor(c), d.options).float() for c, d in zip(choice, decisions(space))]
        with torch.no_grad():
            hard, soft = net.backbone(x, choice), net.backbone(x, None, mixture=onehot)
        for h, s in zip(hard, soft):
            assert torch.allclose(h, s, atol=1e-5)


def test_soft_step_trains_every_candidate_and_reaches_every_logit(space):
    task = get_task("cls")
    net, dist = Supernet(space, {"cls": task}, 1), ArchDistribution(space)
    _, _, soft = dist.gumbel(1.0, torch.Generator().manual_seed(0))
    x, y = task.split("train").inputs[:8], task.split("train").targets
    task.loss(net(x, None, ["cls"], mixture=soft)["cls"], {"label": y["label"][:8]}).backward()
    assert all(block.depthwise.conv.weight.grad is not None for block in net.backbone.slots[0][0])
    # widths and first slots; later slots and depths start as identities (equal outputs, zero gradient)
    n = 2 + space.max_depth
    learning = [dist.logits[s * n + i] for s in range(len(space.widths)) for i in (1, 2)]
    assert all(theta.grad is not None and theta.grad.abs().sum() > 0 for theta in learning)
