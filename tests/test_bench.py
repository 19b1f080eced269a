"""bench/bench.py's code paths run (not timed: speed is never asserted in
tests): a tiny --quick run on the CPU, and with --device gpu where MLX has a
GPU (on a Mac: the Metal kernels, the ext on the CPU beside them, the chip
recorded)."""

import json
import pathlib
import sys

import mlx.core as mx
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))

from bench import bench  # noqa: E402

pytestmark = pytest.mark.device("any")


def run(tmp_path, *extra):
    out = tmp_path / "bench.json"
    argv = ["--quick", "--shapes", "2x3,2x17", "--peers", "none", "--repeats", "1"]
    assert bench.main([*argv, "--json", str(out), *extra]) == 0
    return json.loads(out.read_text())


def measured(block, impl):
    result = block["results"][impl]
    return [result[mode]["median_s"] for mode in ("fwd", "fwd+bwd")]


def test_cpu_run_records_every_block(tmp_path):
    data = run(tmp_path)
    assert data["device"] == "cpu" and data["gpu"] is None
    assert [(b["batch"], b["n"]) for b in data["blocks"]] == [(2, 3), (2, 17)]
    for block in data["blocks"]:
        assert set(block["results"]) == {"ext", "seed"}
        assert all(t > 0 for impl in ("ext", "seed") for t in measured(block, impl))


@pytest.mark.skipif(not mx.is_available(mx.gpu), reason="needs a GPU backend of MLX")
def test_gpu_run_times_the_ext_on_both_devices(tmp_path):
    data = run(tmp_path, "--device", "gpu")
    assert data["device"] == "gpu" and data["gpu"]
    for block in data["blocks"]:
        assert set(block["results"]) == {"ext", "ext-cpu", "seed"}
        assert all(t > 0 for t in measured(block, "ext") + measured(block, "ext-cpu"))


@pytest.mark.skipif(mx.is_available(mx.gpu), reason="this MLX has a GPU backend")
def test_gpu_run_without_a_gpu_is_refused():
    with pytest.raises(SystemExit):
        bench.parse_args(["--device", "gpu"])


def test_ab_times_builds_in_turns(capsys):
    """bench/ab.py runs each build's process once per round and prints each
    build's least and median and their ratios to the first build's (the
    installed package twice here)."""
    from bench import ab

    assert (
        ab.main(
            [
                "--build",
                "a=",
                "--build",
                "b=",
                "--cells",
                "float32:1:4x3",
                "--rounds",
                "2",
                "--calls",
                "1",
            ]
        )
        == 0
    )
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[0] == "float32:1:4x3"
    least_a, median_a, least_b, median_b = (float(v) for v in row[1:5])
    assert 0 < least_a <= median_a and 0 < least_b <= median_b
    ratios = [float(v) for v in row[5].split("/")]
    # (the times are printed to 1 us)
    assert ratios == pytest.approx([least_b / least_a, median_b / median_a], rel=0.05)
