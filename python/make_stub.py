"""Writes the type stub of the freshly built extension (run by CMake).

python make_stub.py BUILD_DIR OUTPUT.pyi"""

import runpy
import sys

from build_support import preload_libraries

preload_libraries()
build_dir, output = sys.argv[1:]
sys.argv = ["stubgen", "-q", "-i", build_dir, "-m", "_ext", "-o", output]
runpy.run_module("nanobind.stubgen", run_name="__main__")
