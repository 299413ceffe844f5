"""A64 instruction families. Importing this package registers every lifter."""

from translator.isa import (  # noqa: F401
    atomics,
    branch,
    crypto,
    dp_imm,
    dp_reg,
    exclusive,
    fp_convert,
    fp_frintts,
    fp_jscvt,
    fp_scalar,
    loadstore,
    simd_dot,
    simd_elem,
    simd_estimate,
    simd_fp,
    simd_int,
    simd_ldst,
    simd_perm,
    simd_shift,
    system,
)
