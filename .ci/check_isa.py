"""Fails if a weak symbol of the x86-64-v3 kernels' object holds an instruction
above the x86-64 baseline (AVX, FMA, BMI, F16C, LZCNT, MOVBE): the linker
keeps one copy of a weak symbol from either kernel object, so such a copy
could run on a CPU without AVX2 (csrc/cpu/isa.h). A symbol whose name
involves the namespace mlx_expm::cpu::x86_64_v3 (our code, or a template
instantiated with our types) is exempt: no other object defines it.

    python .ci/check_isa.py OBJECT       (kernels_x86_64_v3.cpp.o of a build)"""

import re
import subprocess
import sys

OWN = "mlx_expm::cpu::x86_64_v3::"
# Mnemonics beyond SSE2: every VEX/EVEX-encoded one starts with v (vfmadd,
# vmovups on ymm, ...), plus the scalar BMI1/2, LZCNT and MOVBE instructions.
ABOVE_BASELINE = re.compile(
    r"\t(v[a-z0-9]+|andn|bextr|blsi|blsmsk|blsr|bzhi|mulx|pdep|pext|rorx|sarx|shlx|shrx|"
    r"tzcnt|lzcnt|movbe)\b"
)


def weak_symbols(obj):
    """(mangled, demangled) of the functions the object defines as weak."""
    out = subprocess.run(
        ["nm", "--defined-only", obj], capture_output=True, text=True, check=True
    ).stdout
    mangled = [
        line.split()[-1]
        for line in out.splitlines()
        if len(line.split()) == 3 and line.split()[1] in ("W", "V", "u")
    ]
    demangled = subprocess.run(
        ["c++filt"], input="\n".join(mangled), capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return list(zip(mangled, demangled))


def offending_instructions(obj, symbol):
    out = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", f"--disassemble={symbol}", obj],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted({m.group(1) for m in ABOVE_BASELINE.finditer(out)})


def main(obj):
    weak = [(m, d) for m, d in weak_symbols(obj) if OWN not in d]
    problems = [(d, found) for m, d in weak if (found := offending_instructions(obj, m))]
    for demangled, found in problems:
        print(f"check_isa: weak symbol {demangled} holds {', '.join(found)}")
    if problems:
        sys.exit(
            f"check_isa: {len(problems)} weak symbols of {obj} hold instructions above the "
            "baseline; include their headers in csrc/cpu/kernel_libraries.h"
        )
    print(
        f"check_isa: {len(weak)} weak symbols of {obj.rsplit('/', 1)[-1]} not of "
        f"{OWN[:-2]}, all baseline code"
    )


if __name__ == "__main__":
    main(sys.argv[1])
