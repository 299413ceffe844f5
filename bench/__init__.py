"""The elfjit benchmark harness: `python -m bench --help`.

Each workload in bench/kernels/ is built natively and for aarch64, then run natively, under
qemu-aarch64 and under elfjit with a cold and with a warm translation cache, interleaved in one
session, so the numbers in a row were measured under the same machine conditions. See
bench/__main__.py for the options.
"""
