"""The slicing supernet: exact full slice, function-preserving sort, exact extract/absorb inverse, top-L1 channels."""
import copy

import numpy as np
import pytest
import torch

from nasbench.errors import InvalidArchitecture
from nasbench.tasks import get_task
from spaces import get_space
from spaces.slicing import SlicingSupernet

SPACE = get_space("mobile")


def supernet(task: str) -> SlicingSupernet:
    """A supernet whose BatchNorms have random affine parameters and statistics (as after training)."""
    torch.manual_seed(0)
    net = SlicingSupernet(SPACE, get_task(task))
    for m in net.parent.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            for t in (m.weight.data, m.bias.data, m.running_mean):
                t.normal_()
            m.running_var.uniform_(0.5, 2.0)
    return net


def outputs(model, task: str) -> torch.Tensor:
    """Eval-mode outputs on a few validation inputs, flattened into one tensor."""
    model.eval()
    with torch.no_grad():
        y = model(get_task(task).split("val").inputs[:4])
    return torch.cat([v.flatten() for v in y.values()]) if isinstance(y, dict) else y.flatten()


def archs(n: int = 6) -> list:
    """Random architectures plus the smallest one and one with every block at expansion 1."""
    rng = np.random.default_rng(1)
    genes = list(SPACE.bounds[1])
    for s in range(4):
        for j in range(SPACE.max_depth):
            genes[s * SPACE.stage_genes + 3 + 2 * j] = SPACE.expansions.index(1)
    return [SPACE.sample(rng) for _ in range(n)] + [SPACE.make(SPACE.bounds[0]), SPACE.make(genes)]


@pytest.mark.parametrize("task", ["cls", "det", "seg"])
def test_full_genotype_reproduces_the_sorted_parent_exactly(task):
    net = supernet(task)
    before = outputs(net.parent, task)
    net.sort_channels()
    after = outputs(net.parent, task)
    assert torch.allclose(before, after, atol=1e-5)  # sorting permutes channels: same function
    assert torch.equal(outputs(net.extract(net.largest), task), after)


@pytest.mark.parametrize("task", ["cls", "det"])
def test_extracted_networks_have_the_structure_build_gives(task):
    net = supernet(task)
    for arch in archs():
        built = {k: v.shape for k, v in SPACE.build(arch, net.task).state_dict().items()}
        assert {k: v.shape for k, v in net.extract(arch).state_dict().items()} == built


def test_extract_then_absorb_leaves_the_parent_unchanged():
    net = supernet("seg")
    net.sort_channels()
    original = copy.deepcopy(net.parent.state_dict())
    for arch in archs():
        net.absorb(arch, net.extract(arch))
    assert all(torch.equal(v, original[k]) for k, v in net.parent.state_dict().items())


def test_absorb_changes_exactly_the_sliced_entries():
    net = supernet("det")
    original = copy.deepcopy(net.parent.state_dict())
    arch = archs()[0]
    sub = net.extract(arch)
    with torch.no_grad():
        for t in sub.state_dict().values():
            t += 1
    net.absorb(arch, sub)
    expected = {k: torch.zeros_like(v, dtype=torch.bool) for k, v in original.items()}
    for pkey, index in net.slices(arch, {k: v.shape for k, v in sub.state_dict().items()}).values():
        expected[pkey][index] = True
    for key, value in net.parent.state_dict().items():
        assert torch.equal(value != original[key], expected[key]), key
    assert any(not m.all() for m in expected.values()) and any(m.any() for m in expected.values())


def test_smaller_genotypes_keep_the_highest_l1_channels():
    net = supernet("cls")
    original = copy.deepcopy(net.parent.state_dict())
    net.sort_channels()
    genes = list(SPACE.bounds[1])
    genes[3 * SPACE.stage_genes + 1] = 0  # last stage at its narrowest width
    genes[3 * SPACE.stage_genes + 3] = SPACE.expansions.index(3)  # its first block at expansion 3
    arch = SPACE.make(genes)
    sub = net.extract(arch).state_dict()
    width, hidden = SPACE.widths[3][0], SPACE.widths[2][-1] * 3
    block = "backbone.stages.3.{j}.body.{layer}"
    stage_l1 = sum(original[block.format(j=j, layer=2) + ".0.weight"].abs().sum((1, 2, 3)) for j in range(3))
    top_channels = torch.argsort(stage_l1, descending=True)[:width]
    expand = original[block.format(j=0, layer=0) + ".0.weight"]
    top_hidden = torch.argsort(expand.abs().sum((1, 2, 3)), descending=True)[:hidden]
    mean = block.format(j=0, layer=2) + ".1.running_mean"
    assert torch.equal(sub[mean], original[mean][top_channels])
    assert torch.equal(sub["head.linear.weight"], original["head.linear.weight"][:, top_channels])
    dw = block.format(j=0, layer=1) + ".0.weight"
    assert torch.equal(sub[dw], original[dw][top_hidden])  # kernel 5 kept whole


def test_smaller_kernels_are_centre_crops():
    net = supernet("cls")
    genes = list(SPACE.bounds[1])
    genes[2] = SPACE.kernels.index(3)
    arch = SPACE.make(genes)
    dw = "backbone.stages.0.0.body.1.0.weight"
    assert torch.equal(net.extract(arch).state_dict()[dw], net.parent.state_dict()[dw][:, :, 1:4, 1:4])


def test_absorb_refuses_a_network_of_another_architecture():
    net = supernet("cls")
    small, large = SPACE.make(SPACE.bounds[0]), net.largest
    with pytest.raises(InvalidArchitecture):
        net.absorb(large, net.extract(small))
