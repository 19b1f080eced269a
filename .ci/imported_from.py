"""Fails unless `import mlx_expm_ext` (from the current directory, as the
test suite will) finds the package installed in the virtual environment
VENV, never the source tree: the wheel check must test the wheel.

    python imported_from.py VENV"""

import pathlib
import sys

import mlx_expm_ext

location = pathlib.Path(mlx_expm_ext.__file__).resolve()
venv = pathlib.Path(sys.argv[1]).resolve()
if not location.is_relative_to(venv):
    sys.exit(f"mlx_expm_ext imported from {location}, not from the wheel installed in {venv}")
print(f"mlx_expm_ext imported from {location}")
