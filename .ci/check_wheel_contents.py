"""Checks a built wheel: a manylinux (or macOS) tag, the extension, its type
stub, py.typed, the build record, the Metal library on macOS; no libmlx and no
BLAS inside (they come from the mlx and scipy-openblas32 wheels).

    python check_wheel_contents.py WHEEL"""

import re
import sys
import zipfile


def main(path):
    name = path.rsplit("/", 1)[-1]
    files = zipfile.ZipFile(path).namelist()
    problems = []
    macos = "macosx" in name
    if not (macos or re.search(r"manylinux_\d+_\d+_(x86_64|aarch64)", name)):
        problems.append(f"not a manylinux or macOS wheel: {name}")
    wanted = [
        "mlx_expm_ext/__init__.py",
        "mlx_expm_ext/_build_config.py",
        "mlx_expm_ext/_ext.pyi",
        "mlx_expm_ext/py.typed",
    ]
    if macos:
        wanted.append("mlx_expm_ext/mlx_expm_ext.metallib")
    problems += [f"missing {w}" for w in wanted if w not in files]
    if not any(re.fullmatch(r"mlx_expm_ext/_ext\..*\.(so|dylib)", f) for f in files):
        problems.append("missing the extension module mlx_expm_ext/_ext.*.so")
    problems += [f"bundles {f}" for f in files if re.search(r"libmlx|openblas", f)]
    for p in problems:
        print("wheel check:", p)
    if problems:
        sys.exit(1)
    print(f"wheel check: {name} ok ({len(files)} files)")


if __name__ == "__main__":
    main(sys.argv[1])
