"""The elfjit benchmark harness: `python -m bench --help`.

Each kernel in bench/kernels/ is built natively and for aarch64, then run natively, under
qemu-aarch64 and under elfjit in one session, interleaved, so the three numbers in a row were
measured under the same machine conditions. See bench/__main__.py for the options.
"""
