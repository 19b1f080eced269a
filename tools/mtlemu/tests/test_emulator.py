"""Tests of the Metal emulator itself: correct sample kernels give numpy's
results, and each planted mistake (samples/bad/*.metal for compile time,
samples/runtime_checks.metal for run time) is caught where it is."""

from __future__ import annotations

import os
import re
import time

import numpy as np
import pytest

import mtlemu as me

SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "samples")
REDUCE = os.path.join(SAMPLES, "reduce.metal")
MATMUL = os.path.join(SAMPLES, "matmul.metal")
LANGUAGE = os.path.join(SAMPLES, "language.metal")
CHECKS = os.path.join(SAMPLES, "runtime_checks.metal")
BENCH = os.path.join(SAMPLES, "bench.metal")

COMPILERS = [pytest.param("clang", marks=pytest.mark.clang), "gcc"]


def marked_line(path: str, marker: str) -> int:
    """The line of `path` holding `marker`, for checking where an error points."""
    with open(path) as f:
        return next(i + 1 for i, line in enumerate(f) if marker in line)


def kernel_line(kernel: str, marker: str = "MISTAKE") -> int:
    """The first `marker` line inside the kernel of runtime_checks.metal."""
    with open(CHECKS) as f:
        lines = f.read().splitlines()
    start = next(i for i, line in enumerate(lines) if re.search(rf"\bvoid {kernel}\(", line))
    return next(i + 1 for i in range(start, len(lines)) if marker in lines[i])


# ---- correct kernels ---------------------------------------------------------


@pytest.mark.parametrize("compiler", COMPILERS)
@pytest.mark.parametrize(
    "dtype, name", [(np.float32, "float32"), (np.float16, "float16")], ids=["float32", "float16"]
)
def test_reduce_with_simd_sum_and_threadgroup_array(compiler, dtype, name):
    rng = np.random.default_rng(1)
    n, groups = 300, 5
    x = rng.standard_normal((groups, n)).astype(dtype)
    out = me.run(
        REDUCE,
        f"reduce_static_{name}",
        {0: x, 1: np.zeros(groups, np.float32), 2: np.array([n], np.uint32)},
        groups=groups,
        threads=96,  # three SIMD-groups
        compiler=compiler,
    )
    np.testing.assert_allclose(out[1], x.astype(np.float64).sum(axis=1), rtol=1e-5, atol=1e-4)
    assert out.stats["tg_barriers"] == groups


def test_reduce_with_shuffles_prefix_sum_and_dynamic_threadgroup_memory():
    x = np.random.default_rng(2).standard_normal(4 * 64).astype(np.float32)
    out = me.run(
        REDUCE,
        "reduce_dynamic",
        {0: x, 1: np.zeros(4, np.float32), 2: np.zeros(4 * 32, np.float32)},
        threadgroup_memory={0: 64},
        groups=(2, 2),
        threads=64,
    )
    per_group = x.reshape(4, 64)
    np.testing.assert_allclose(out[1], per_group.sum(axis=1), rtol=1e-5, atol=1e-5)
    prefix = np.cumsum(per_group[:, :32], axis=1) - per_group[:, :32]
    np.testing.assert_allclose(out[2].reshape(4, 32), prefix, rtol=1e-5, atol=1e-5)


def test_threads_need_not_be_a_multiple_of_32():
    # 48 threads: a full SIMD-group and a partial one of 16 lanes.
    x = np.arange(2 * 100, dtype=np.float32).reshape(2, 100)
    out = me.run(
        REDUCE,
        "reduce_static_float32",
        {0: x, 1: np.zeros(2, np.float32), 2: np.array([100], np.uint32)},
        groups=2,
        threads=48,
    )
    np.testing.assert_allclose(out[1], x.sum(axis=1))
    # A scalar thread_position_in_grid is the x component.
    out = me.run(CHECKS, "fill", {0: np.zeros(20, np.float32)}, groups=2, threads=(10, 3))
    np.testing.assert_array_equal(out[0], np.arange(20))


@pytest.mark.parametrize("compiler", COMPILERS)
def test_tiled_simdgroup_matrix_matmul(compiler):
    rng = np.random.default_rng(3)
    M, N, K = 64, 96, 40
    A = rng.standard_normal((M, K)).astype(np.float32)
    B = rng.standard_normal((K, N)).astype(np.float32)
    out = me.run(
        MATMUL,
        "matmul_float32",
        {0: A, 1: B, 2: np.zeros((M, N), np.float32), 3: np.array([M, N, K], np.uint32)},
        groups=(N // 32, M // 32),
        threads=128,
        compiler=compiler,
    )
    np.testing.assert_allclose(out[2], A.astype(np.float64) @ B, rtol=1e-5, atol=1e-4)


def test_half_matmul_rounds_like_half():
    rng = np.random.default_rng(4)
    M, N, K = 32, 32, 24
    A = rng.standard_normal((M, K)).astype(np.float16)
    B = rng.standard_normal((K, N)).astype(np.float16)
    out = me.run(
        MATMUL,
        "matmul_float16",
        {0: A, 1: B, 2: np.zeros((M, N), np.float16), 3: np.array([M, N, K], np.uint32)},
        groups=(1, 1),
        threads=128,
    )
    exact = A.astype(np.float64) @ B.astype(np.float64)
    error = np.abs(out[2].astype(np.float64) - exact).max()
    assert 0 < error < 0.05  # rounded to half at each step (8 columns at a time), as on Metal


def test_transposed_load_store_and_thread_elements():
    A = np.random.default_rng(5).standard_normal((8, 8)).astype(np.float32)
    out = me.run(
        MATMUL,
        "transpose8",
        {0: A, 1: np.zeros((8, 8), np.float32), 2: np.zeros((8, 8), np.float32)},
    )
    np.testing.assert_array_equal(out[1], A.T)
    np.testing.assert_array_equal(
        out[2], 2 * A
    )  # doubled through thread_elements(), transposed back


@pytest.mark.parametrize("compiler", COMPILERS)
def test_language_features(compiler):
    out = me.run(
        LANGUAGE,
        "language",
        {
            0: np.zeros(32 * 20, np.float32),
            1: np.zeros(1, np.uint32),
            2: np.zeros(32, np.uint16),
            3: np.array([2.0], np.float32),
            4: np.array([3], np.uint32).tobytes() + np.array([0.5], np.float32).tobytes(),
        },
        threads=32,
        include_dirs=[os.path.join(SAMPLES, "include")],
        compiler=compiler,
    )
    o = out[0].reshape(32, 20)
    lane = np.arange(32)
    expected = np.zeros((32, 20))
    expected[:, 0] = 23
    expected[:, 1] = 3
    expected[:, 2] = 5
    expected[:, 3] = 1
    expected[:, 4] = lane > 15
    expected[:, 5] = np.where(lane + 1 < 32, lane + 1, lane)
    expected[:, 6] = np.where(lane >= 2, lane - 2, lane)
    expected[:, 7] = 7
    expected[:, 8] = lane * (lane + 1) // 2
    expected[:, 9] = 31
    expected[:, 10] = 1
    expected[:, 11] = 16
    expected[:, 12] = np.clip(lane - 10, 0, 5)
    expected[:, 13] = 8 + 4 + 0.25 * 2
    expected[:, 14] = lane
    expected[:, 15] = 2
    expected[:, 16] = 111 + np.where(lane % 2, 0.25, 0.5)
    expected[:, 17] = 3.5
    expected[:, 18] = 6
    expected[:, 19] = 5.5
    np.testing.assert_array_equal(o, expected)
    assert out[1][0] == 32
    bf16 = (out[2].astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(bf16, lane * 0.5)


def test_one_simdgroup_per_matrix_products():
    # The shape of the project's kernel: one SIMD-group per matrix, products
    # through threadgroup memory, simdgroup_barrier between steps.
    A = (np.random.default_rng(9).standard_normal((6, 32, 32)) / 8).astype(np.float32)
    out = me.run(
        BENCH,
        "products",
        {0: A, 1: np.zeros_like(A), 2: np.array([3], np.uint32)},
        groups=6,
        threads=32,
    )
    np.testing.assert_allclose(
        out[1], np.linalg.matrix_power(A.astype(np.float64), 4), rtol=1e-4, atol=1e-6
    )


def test_partial_simd_sum_uses_the_active_lanes():
    out = me.run(CHECKS, "partial_simd_sum", {0: np.zeros(32, np.float32)})
    np.testing.assert_array_equal(out[0], [sum(range(16))] * 16 + [0] * 16)


def test_extra_sources_include_dirs_and_defines():
    lib = me.build(
        LANGUAGE,
        include_dirs=[os.path.join(SAMPLES, "include")],
        extra_sources=[os.path.join(SAMPLES, "host_helper.cpp")],
        extra_include_dirs=[os.path.join(SAMPLES, "include")],
        extra_defines=["SAMPLE_BONUS=5"],
    )
    assert lib.kernels == ["language"]
    lib.cdll.sample_scale.restype = __import__("ctypes").c_float
    assert lib.cdll.sample_threads_for(40) == 69
    assert lib.cdll.sample_scale() == 0.25


def test_rebuilds_when_the_source_changes(tmp_path):
    src = tmp_path / "k.metal"
    body = "#include <metal_stdlib>\nusing namespace metal;\n[[kernel]] void k(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) {{ o[i] = {}; }}\n"
    src.write_text(body.format("1.0f"))
    assert me.run(src, "k", {0: np.zeros(4, np.float32)}, threads=4)[0][0] == 1
    src.write_text(body.format("2.0f"))
    os.utime(src, ns=(time.time_ns() + 10**9,) * 2)  # mtime resolution
    assert me.run(src, "k", {0: np.zeros(4, np.float32)}, threads=4)[0][0] == 2


# ---- mistakes caught when compiling ------------------------------------------

BAD = sorted(f for f in os.listdir(os.path.join(SAMPLES, "bad")) if f.endswith(".metal"))
# What the diagnostic says, for each planted mistake.
BAD_MESSAGES = {
    "missing_address_space.metal": "must be declared in the device or constant address space",
    "wrong_address_space.metal": "cannot pass pointer to address space '__local' as a pointer to address space '__global'",
    "store_through_constant.metal": "read-only variable is not assignable",
    "uses_double.metal": "poisoned",
    "double_promotion.metal": "double-promotion",
    "misspelt_attribute.metal": "thread_positon_in_grid",
    "simd_sum_ulong.metal": "not bool, long, ulong or size_t",
    "implicit_bfloat.metal": "no viable conversion from 'float' to 'bfloat'",
    "position_type.metal": "a position attribute has type uint or ushort",
    "post_cxx14.metal": "constexpr if is incompatible with C++ standards before C++17",
}
# g++ has no address spaces and no pre-C++17 compatibility warnings; it
# catches the rest.
GCC_MISSES = {"wrong_address_space.metal", "post_cxx14.metal"}


@pytest.mark.clang
@pytest.mark.parametrize("name", BAD)
def test_clang_catches(name):
    path = os.path.join(SAMPLES, "bad", name)
    with pytest.raises(me.CompileError) as e:
        me.build(path)
    assert f"{path}:{marked_line(path, '// ERROR')}" in e.value.output
    assert BAD_MESSAGES[name] in e.value.output


@pytest.mark.parametrize("name", [n for n in BAD if n not in GCC_MISSES])
def test_gcc_catches(name):
    path = os.path.join(SAMPLES, "bad", name)
    with pytest.raises(me.CompileError) as e:
        me.build(path, compiler="gcc")
    assert f"{path}:{marked_line(path, '// ERROR')}" in e.value.output


def test_every_bad_sample_has_a_message():
    assert set(BAD) == set(BAD_MESSAGES)


# ---- mistakes caught when running --------------------------------------------


def z(n=64):
    return np.zeros(n, np.float32)


def test_kernel_without_host_name_instantiation():
    with pytest.raises(me.DispatchError, match=r"no kernel named 'never_instantiated'.*host_name"):
        me.run(CHECKS, "never_instantiated", {0: z()})


def test_more_than_32_kib_of_threadgroup_memory():
    with pytest.raises(me.DispatchError, match=r"40000 bytes of threadgroup memory.*32768"):
        me.run(CHECKS, "uninitialised_read", {0: z()}, threadgroup_memory={0: 40000})
    line = kernel_line("too_much_threadgroup_memory")
    with pytest.raises(
        me.DispatchError, match=rf"runtime_checks.metal:{line}: .*36000 bytes.*32768"
    ):
        me.run(CHECKS, "too_much_threadgroup_memory", {0: z()})


def test_threadgroup_memory_length_must_be_a_multiple_of_16():
    with pytest.raises(me.DispatchError, match="multiple of 16"):
        me.run(CHECKS, "uninitialised_read", {0: z()}, threadgroup_memory={0: 100})


def test_more_than_1024_threads():
    with pytest.raises(me.DispatchError, match=r"1056 threads; Metal allows at most 1024"):
        me.run(CHECKS, "fill", {0: z(1056)}, threads=(32, 33))
    out = me.run(CHECKS, "fill", {0: z(1024)}, threads=1024)
    np.testing.assert_array_equal(out[0], np.arange(1024))


def test_missing_buffers_and_threadgroup_memory():
    with pytest.raises(me.DispatchError, match=r"\[\[buffer\(0\)\]\] \('out'\) but no buffer 0"):
        me.run(CHECKS, "fill", {})
    with pytest.raises(me.DispatchError, match=r"\[\[threadgroup\(0\)\]\] \('scratch'\)"):
        me.run(CHECKS, "uninitialised_read", {0: z()})
    # `constant MatmulParams& params [[buffer(3)]]` needs 12 bytes.
    with pytest.raises(
        me.DispatchError, match=r"buffer 3 has 8 bytes, but 'params' is a reference to 12 bytes"
    ):
        me.run(
            MATMUL,
            "matmul_float32",
            {0: z(), 1: z(), 2: z(), 3: np.zeros(2, np.uint32)},
            threads=128,
        )


@pytest.mark.parametrize(
    "kernel, message",
    [
        (
            "divergent_barrier",
            r"thread 16 returned while threads 0-15 wait at the threadgroup_barrier at .*runtime_checks.metal:{line}",
        ),
        ("early_return", r"thread 5 returned while threads 0-4 wait at the threadgroup_barrier"),
        (
            "divergent_simdgroup_barrier",
            r"\[simdgroup_barrier\].*lanes 0-15 wait at .*runtime_checks.metal:{line} but lanes 16-31 have returned",
        ),
        (
            "two_barriers",
            r"threads 16-31 wait at the threadgroup_barrier at .*:(\d+) but threads 0-15 at the one at .*:(\d+)",
        ),
    ],
)
def test_barriers_not_every_thread_reaches(kernel, message):
    line = kernel_line(kernel) if "{line}" in message else None
    with pytest.raises(me.DispatchError, match=message.format(line=line)):
        me.run(CHECKS, kernel, {0: z()}, threads=32)


def test_simdgroup_matrix_arguments_must_be_uniform():
    line = kernel_line("nonuniform_simdgroup_load")
    with pytest.raises(
        me.DispatchError,
        match=rf"\[simdgroup_load\] .*:{line}: lanes 0 and 16 pass different arguments",
    ):
        me.run(CHECKS, "nonuniform_simdgroup_load", {0: z(128), 1: z()})


def test_simdgroup_matrix_needs_32_threads():
    with pytest.raises(me.DispatchError, match=r"needs all 32 lanes.*has 16 threads"):
        me.run(MATMUL, "transpose8", {0: z(), 1: z(), 2: z()}, threads=16)


def test_uninitialised_threadgroup_memory_reads_nan():
    out = me.run(CHECKS, "uninitialised_read", {0: z()}, threadgroup_memory={0: 256}, threads=64)
    assert np.isnan(out[0]).all()


def test_missing_barrier_shows_as_schedule_dependent_results():
    x = np.arange(64, dtype=np.float32)
    good = [
        me.run(CHECKS, "with_barrier", {0: x, 1: z()}, threads=64, schedule=s)[1]
        for s in ("forward", "reverse")
    ]
    np.testing.assert_array_equal(good[0], np.roll(x, -1))
    np.testing.assert_array_equal(good[1], np.roll(x, -1))
    bad = [
        me.run(CHECKS, "missing_barrier", {0: x, 1: z()}, threads=64, schedule=s)[1]
        for s in ("forward", "reverse")
    ]
    assert np.isnan(bad[0]).any() and not np.array_equal(bad[0], bad[1], equal_nan=True)


def test_out_of_bounds_write_to_a_device_buffer():
    with pytest.raises(me.DispatchError, match=r"wrote past the end of buffer 0 \(128 bytes\)"):
        me.run(CHECKS, "device_out_of_bounds", {0: z(32)}, threads=32)


def test_endless_loop_is_stopped_by_the_timeout():
    start = time.monotonic()
    with pytest.raises(me.DispatchError, match=r"timeout: thread 0 .* was still running"):
        me.run(CHECKS, "spin", {0: np.zeros(1, np.uint32)}, timeout=0.5)
    assert time.monotonic() - start < 10
    # The library is still usable afterwards.
    assert me.run(CHECKS, "fill", {0: z(32)})[0][31] == 31


def test_isolated_run_reports_errors_too():
    with pytest.raises(me.DispatchError, match="thread 5 returned"):
        me.run(CHECKS, "early_return", {0: z()}, isolate=True)
    assert me.run(CHECKS, "fill", {0: z(32)}, isolate=True)[0][31] == 31


# ---- sanitizer builds --------------------------------------------------------


@pytest.fixture(scope="module")
def tsan():
    """Skips the test if ThreadSanitizer cannot run here (e.g. a kernel with
    an incompatible memory layout)."""
    try:
        me.run(
            CHECKS,
            "with_barrier",
            {0: np.arange(64, dtype=np.float32), 1: z()},
            threads=64,
            sanitizer="thread",
        )
    except me.SanitizerError:
        raise  # a report on a correct kernel is a real failure
    except me.EmulatorError as e:
        pytest.skip(f"ThreadSanitizer is not usable here: {e}")


@pytest.mark.tsan
def test_tsan_reports_a_missing_barrier(tsan):
    x = np.arange(64, dtype=np.float32)
    with pytest.raises(me.SanitizerError) as e:
        me.run(CHECKS, "missing_barrier", {0: x, 1: z()}, threads=64, sanitizer="thread")
    report = e.value.report
    assert "ThreadSanitizer: data race" in report
    # The write of one thread and the read of its neighbour, without a barrier between.
    assert (
        f"runtime_checks.metal:{kernel_line('missing_barrier', 'shared[tid] = in[tid]')}" in report
    )
    assert f"runtime_checks.metal:{kernel_line('missing_barrier', 'out[tid] = shared')}" in report


@pytest.mark.tsan
def test_tsan_reports_threadgroups_racing_on_device_memory(tsan):
    with pytest.raises(me.SanitizerError, match="data race"):
        me.run(
            CHECKS,
            "cross_group_race",
            {0: z(1)},
            groups=4,
            threads=32,
            workers=1,
            sanitizer="thread",
        )


@pytest.mark.tsan
def test_tsan_is_quiet_on_correct_kernels(tsan):
    x = np.random.default_rng(6).standard_normal((4, 300)).astype(np.float32)
    out = me.run(
        REDUCE,
        "reduce_static_float32",
        {0: x, 1: z(4), 2: np.array([300], np.uint32)},
        groups=4,
        threads=96,
        sanitizer="thread",
    )
    np.testing.assert_allclose(out[1], x.sum(axis=1), rtol=1e-5, atol=1e-4)
    A = np.random.default_rng(7).standard_normal((32, 16)).astype(np.float32)
    B = np.random.default_rng(8).standard_normal((16, 32)).astype(np.float32)
    out = me.run(
        MATMUL,
        "matmul_float32",
        {0: A, 1: B, 2: np.zeros((32, 32), np.float32), 3: np.array([32, 32, 16], np.uint32)},
        threads=128,
        sanitizer="thread",
    )
    np.testing.assert_allclose(out[2], A @ B, rtol=1e-5, atol=1e-5)
    A = (np.random.default_rng(10).standard_normal((2, 32, 32)) / 8).astype(np.float32)
    out = me.run(
        BENCH,
        "products",
        {0: A, 1: np.zeros_like(A), 2: np.array([2], np.uint32)},
        groups=2,
        sanitizer="thread",
    )
    np.testing.assert_allclose(
        out[1], np.linalg.matrix_power(A.astype(np.float64), 3), rtol=1e-4, atol=1e-6
    )


@pytest.mark.asan
def test_asan_reports_a_threadgroup_index_out_of_bounds():
    with pytest.raises(me.SanitizerError, match="heap-buffer-overflow"):
        me.run(
            CHECKS,
            "threadgroup_out_of_bounds",
            {0: z(32)},
            threadgroup_memory={0: 128},
            sanitizer="address",
        )
    out = me.run(
        REDUCE,
        "reduce_dynamic",
        {0: z(64), 1: z(1), 2: z(32)},
        threadgroup_memory={0: 16},
        threads=64,
        sanitizer="address",
    )
    assert out[1][0] == 0


def test_diagnostics_name_the_original_file_and_line(tmp_path):
    """Line numbers survive the rewrite: in an included header, and in code
    after a kernel instantiation (whose entry function the rewrite inserts)."""
    (tmp_path / "helper.h").write_text(
        "#pragma once\ninline float half_of(float x) {\n  return x * 0.5;\n}\n"
    )
    src = tmp_path / "k.metal"
    src.write_text(
        "#include <metal_stdlib>\n"
        "using namespace metal;\n"
        "template <typename T>\n"
        "[[kernel]] void k(device T* o [[buffer(0)]], uint i [[thread_position_in_grid]]) { o[i] = T(1); }\n"
        'template [[host_name("k_float")]] [[kernel]] decltype(k<float>) k<float>;\n'
        "\n"
        "float later(float x) { return x * 0.25; }\n"
    )
    with pytest.raises(me.CompileError) as e:
        me.build(src)
    assert f"{src}:7:" in e.value.output
    src.write_text(
        src.read_text()
        .replace("0.25", "0.25f")
        .replace("using namespace metal;", '#include "helper.h"')
    )
    with pytest.raises(me.CompileError) as e:
        me.build(src, include_dirs=[tmp_path])
    assert f"{tmp_path / 'helper.h'}:3:" in e.value.output
