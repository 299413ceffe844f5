"""A64 instruction families. Importing this package registers every lifter."""

from translator.isa import (  # noqa: F401
    branch,
    system,
)
