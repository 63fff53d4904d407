"""Every bad input: one line on stderr, exit 2, no traceback, no compute spent, nothing already written lost."""
import json
import os

import pytest

from nasbench.cli import main

BASE = ["--space", "toy", "--tasks", "a", "--strategies", "random,rea", "--budget", "6", "--budget-unit", "evals",
        "--seeds", "1", "--k", "2", "--no-progress", "--workers", "1"]


def with_flag(flag, value):
    """BASE with ``flag`` set to ``value`` (replacing it if present)."""
    args = list(BASE)
    if flag in args:
        i = args.index(flag)
        del args[i:i + 2]
    return args + [flag, value]


CASES = [
    (with_flag("--strategies", "nope"), "unknown strategy 'nope'; choose from"),
    (with_flag("--strategies", ""), "no strategy given"),
    (with_flag("--strategies", "random,random"), "strategies listed twice: random"),
    (with_flag("--strategies", ",".join(["random"] * 101)), "at most 100 strategies"),
    (with_flag("--tasks", "zzz"), "unknown task 'zzz'; choose from"),
    (with_flag("--tasks", ""), "no task given"),
    (with_flag("--tasks", "a,a"), "tasks listed twice: a"),
    (with_flag("--tasks", "cifar10"), "runs only on the nb201 space"),
    (with_flag("--space", "nope"), "unknown space 'nope'; choose from"),
    (with_flag("--space", "mobile"), "toy task 'a' runs only on the toy space"),
    (BASE + ["--benchmark", "nope"], "unknown benchmark 'nope'; choose from embedded, nb201"),
    (BASE + ["--preset", "huge"], "unknown preset 'huge'; choose from quick, full, nb201"),
    (with_flag("--budget", "-1"), "budget must be > 0"),
    (with_flag("--budget", "0"), "budget must be > 0"),
    (with_flag("--budget", "nan"), "budget must be > 0"),
    (with_flag("--budget", "inf"), "budget must be > 0"),
    (with_flag("--budget", "abc"), "argument --budget: invalid float value: 'abc'"),
    (with_flag("--budget", "1e7"), "at most 1e+06 evals"),
    (with_flag("--budget-unit", "joules"), "unknown budget unit 'joules'; choose from evals, macs, seconds, queries"),
    (with_flag("--seeds", "0"), "seeds must be an integer in [1, 10000], got 0"),
    (with_flag("--seeds", "-3"), "seeds must be an integer in [1, 10000]"),
    (with_flag("--seeds", "99999999999999999999"), "seeds must be an integer in [1, 10000]"),
    (with_flag("--seeds", "abc"), "argument --seeds: invalid int value"),
    (with_flag("--seeds", "1.5"), "argument --seeds: invalid int value"),
    (BASE + ["--seed-start", "-1"], "seed-start must be an integer in [0, 2.14748e+09]"),
    (BASE + ["--seed-start", "99999999999999"], "seed-start must be an integer in"),
    (with_flag("--k", "0"), "k (proposals per task) must be an integer in [1, 100]"),
    (with_flag("--k", "101"), "k (proposals per task) must be an integer in [1, 100]"),
    (with_flag("--k", "x"), "argument --k: invalid int value"),
    (with_flag("--workers", "0"), "workers must be an integer in [1, 64]"),
    (with_flag("--workers", "1000"), "workers must be an integer in [1, 64], got 1000"),
    (with_flag("--workers", "-1"), "workers must be an integer in [1, 64]"),
    (BASE + ["--job-cpus", "0"], "job-cpus must be an integer in [1,"),
    (BASE + ["--job-cpus", "999"], "job-cpus must be an integer in [1,"),
    (BASE + ["--time-limit", "0"], "time limit (seconds per run) must be a number in [1, 604800]"),
    (BASE + ["--time-limit", "-5"], "time limit (seconds per run) must be a number"),
    (BASE + ["--time-limit", "nan"], "time limit (seconds per run) must be a number"),
    (BASE + ["--time-limit", "1e9"], "time limit (seconds per run) must be a number"),
    (BASE + ["--executor", "nope"], "argument --executor: invalid choice: 'nope'"),
    (BASE + ["--lut", "nope"], "argument --lut: invalid choice: 'nope'"),
    (BASE + ["--unknown-flag"], "unrecognized arguments: --unknown-flag"),
    (BASE + ["--param", "oops"], "malformed --param 'oops'"),
    (BASE + ["--param", "rea.=1"], "malformed --param"),
    (BASE + ["--param", ".population=1"], "malformed --param"),
    (BASE + ["--param", "rea.population"], "malformed --param"),
    (BASE + ["--param", "rea.pop-ulation=1"], "malformed --param"),
    (BASE + ["--param", "rea.populaton=3"], "unknown parameter(s) populaton for strategy 'rea'"),
    (BASE + ["--param", "random.x=1"], "unknown parameter(s) x for strategy 'random'"),
    (BASE + ["--param", "zzz.population=1"], "parameters given for 'zzz', which is not among the strategies"),
    (BASE + ["--param", "rea.population=-5"], "population=-5 is invalid"),
    (BASE + ["--param", "rea.population=0"], "population=0 is invalid"),
    (BASE + ["--param", "rea.population=abc"], "population='abc' is invalid"),
    (BASE + ["--param", "rea.population=[1,2]"], "population=[1, 2] is invalid"),
    (BASE + ["--param", "rea.population=True"], "population=True is invalid"),
    (BASE + ["--param", "rea.population=1e9"], "population=1000000000.0 is invalid"),
    (BASE + ["--param", "rea.population=2.5"], "population=2.5 is invalid"),
    (BASE + ["--param", "rea.sample=0"], "sample=0 is invalid"),
    (with_flag("--strategies", "nsga2") + ["--param", "nsga2.population=abc"], "population='abc' is invalid"),
    (with_flag("--strategies", "nsga2") + ["--param", "nsga2.population=[1,2]"], "population=[1, 2] is invalid"),
    (BASE + ["--param", "rea.population=" + "(" * 50 + "1" + ")" * 50], "nested 50 deep; at most 3"),
    (BASE + ["--param", "rea.population=" + "[" * 5000 + "]" * 5000], "characters; at most 1000"),
    (BASE + ["--param", "rea.population=" + "9" * 1500], "characters; at most 1000"),
    (with_flag("--strategies", "fmas"), "needs slicing"),
    (with_flag("--strategies", "zen"), "needs backbone"),
    (with_flag("--strategies", "dnas"), "strategy 'dnas' trains the mixed-op supernet of the mobile space (capability 'mixed'); space 'toy' has none"),
    (with_flag("--budget-unit", "queries") + ["--budget", "1e7"], "at most 1e+06 queries"),
    (["report"], "the following arguments are required: folders"),
]


def one_line_exit_2(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("argv, message", CASES, ids=[f"{i:02d}" for i in range(len(CASES))])
def test_bad_input(toy_benchmark, tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    err = one_line_exit_2(capsys, argv + (["--out", str(out)] if argv[:1] != ["report"] else []))
    assert message in err
    assert not out.exists()  # validated before the folder is even created: no compute spent


def test_misfits_on_nb201_fail_before_compute(tmp_path, capsys):
    for strategies, message in (("dnas", "strategy 'dnas' trains the mixed-op supernet"),
                                ("fbnetv5", "strategy 'fbnetv5' trains the mixed-op supernet"),
                                ("fmas", "strategy 'fmas' needs slicing, which space 'nb201' lacks; it fits spaces offering")):
        err = one_line_exit_2(capsys, ["--benchmark", "nb201", "--strategies", strategies, "--seeds", "1",
                                       "--out", str(tmp_path / strategies), "--no-progress"])
        assert message in err and not (tmp_path / strategies).exists()
    err = one_line_exit_2(capsys, ["--benchmark", "nb201", "--strategies", "zen", "--k", "2", "--seeds", "1",
                                   "--param", "zen.constraints=(0.2,0.5,1.0)", "--out", str(tmp_path / "z"), "--no-progress"])
    assert "more than K=2" in err


def test_all_means_the_strategies_that_fit_the_space(capsys):
    from nasbench.cli import _parser, settings_from

    settings, _, _ = settings_from(_parser().parse_args(["--benchmark", "nb201", "--strategies", "all"]))
    assert {"random", "rea", "zen", "fbnetv3"} <= set(settings.strategies)
    assert not {"dnas", "fbnetv5", "fmas"} & set(settings.strategies)
    assert "left out: dnas, fbnetv5, fmas" in capsys.readouterr().err
    settings, _, _ = settings_from(_parser().parse_args(["--strategies", "all"]))
    assert {"dnas", "fbnetv5", "fmas", "zen"} <= set(settings.strategies) and "ls" not in settings.strategies


@pytest.fixture
def written(toy_benchmark, tmp_path):
    """A results folder holding one finished comparison."""
    out = tmp_path / "res"
    assert main(BASE + ["--out", str(out)]) == 0
    return out


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.name != ".lock"}


@pytest.mark.parametrize("damage, message", [
    (lambda out: (out / "runs.jsonl").write_bytes(b'{"strategy": "random"\n'), "runs.jsonl line 1 is not a valid record"),
    (lambda out: (out / "runs.jsonl").write_bytes(b"\xff\xfe\xfd\n"), "runs.jsonl line 1 is not a valid record"),
    (lambda out: _rewrite_run(out, finals="abc"), "field 'finals' has the wrong type str"),
    (lambda out: _rewrite_run(out, hypervolume="x"), "field 'hypervolume' has the wrong type str"),
    (lambda out: _rewrite_run(out, finals=[{"arch": "toy:1", "metric": 0.5, "macs": 1, "on_front": True, "selected": True}]),
     "missing field 'status'"),
    (lambda out: (out / "config.json").write_text("garbage"), "config.json is not valid JSON"),
    (lambda out: (out / "archive.jsonl").write_text("[]\n"), "archive.jsonl line 1 is not a valid record"),
    (lambda out: (os.remove(out / "summary.csv"), (out / "summary.csv").symlink_to("/etc/hostname")), "is a symlink"),
    (lambda out: (os.remove(out / "runs.jsonl"), (out / "runs.jsonl").mkdir()), "runs.jsonl is not a regular file"),
])
def test_damaged_results_folders_are_refused_and_left_untouched(written, capsys, damage, message):
    damage(written)
    before = snapshot(written)
    err = one_line_exit_2(capsys, BASE + ["--out", str(written)])
    assert message in err
    assert snapshot(written) == before


def _rewrite_run(out, **fields):
    record = json.loads((out / "runs.jsonl").read_text().splitlines()[0])
    record.update(fields)
    (out / "runs.jsonl").write_text(json.dumps(record) + "\n")


def test_a_locked_folder_is_refused_naming_the_holder(written, capsys):
    from nasbench.runner.store import ResultStore

    holder = ResultStore(written)
    holder.open(json.loads((written / "config.json").read_text()))
    try:
        err = one_line_exit_2(capsys, BASE + ["--out", str(written)])
        assert f"in use by pid {os.getpid()}" in err
    finally:
        holder.close()


def test_report_of_a_missing_or_foreign_folder(tmp_path, capsys):
    assert "no such folder" in one_line_exit_2(capsys, ["report", str(tmp_path / "none")])
    assert "no config.json" in one_line_exit_2(capsys, ["report", str(tmp_path)])


def test_out_that_is_a_file_or_under_a_file(toy_benchmark, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert "is not a folder" in one_line_exit_2(capsys, BASE + ["--out", str(blocker)])
    assert "cannot be created" in one_line_exit_2(capsys, BASE + ["--out", str(blocker / "sub")])
    assert "--out is empty" in one_line_exit_2(capsys, BASE + ["--out", ""])
    assert blocker.read_text() == "x"
