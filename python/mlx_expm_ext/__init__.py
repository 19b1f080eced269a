"""The matrix exponential for MLX, as a native MLX primitive."""

try:
    import mlx.core as _mx  # loads libmlx and registers mx.array before _ext
except ImportError as error:
    if "libmlx" not in str(error):
        raise
    raise ImportError(
        f"{error}. On Linux, MLX's library comes with a backend: install "
        "mlx-expm-ext[cpu] (or [cuda12], [cuda13] for MLX's CUDA backend)."
    ) from error

from ._build_config import MLX_VERSION as _BUILT_FOR


def _check_mlx_version(running: str, built_for: str) -> None:
    if running != built_for:
        raise ImportError(
            f"mlx_expm_ext was built against mlx {built_for}, but mlx {running} is "
            "installed; MLX's C++ ABI changes between releases. Install the "
            f"matching mlx (pip install 'mlx=={built_for}', with the [cpu] or [cuda] "
            "extra on Linux) or rebuild mlx_expm_ext from source against the "
            "installed mlx (pip install --no-binary mlx-expm-ext mlx-expm-ext)."
        )


_check_mlx_version(_mx.__version__, _BUILT_FOR)

from ._ext import frechet, matrix_exp  # noqa: E402

__all__ = ["frechet", "matrix_exp"]
