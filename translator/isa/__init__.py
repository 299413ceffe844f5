"""A64 instruction families. Importing this package registers every lifter."""

from translator.isa import (  # noqa: F401
    branch,
    dp_imm,
    dp_reg,
    exclusive,
    fp_convert,
    fp_scalar,
    loadstore,
    system,
    simd_int,
    simd_shift,
    simd_perm,
    simd_fp,
    simd_elem,
    simd_ldst,
)
