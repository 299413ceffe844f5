"""`--stats` / `--stats-json`: what was translated, what it cost, and why Python ran."""

from __future__ import annotations

TYPE_CHECKING = False  # typing's own, without importing typing (1.8 ms of a warm start)
if TYPE_CHECKING:
    from typing import Any, TextIO

    from runtime.machine import Machine


def collect_stats(m: Machine) -> dict[str, Any]:
    t = m.translator
    ts = t.stats
    from translator.jit import CompileTimes

    jt = CompileTimes()
    jits = [t._jit, t.background.jit if t.background is not None else None]
    for j in jits:  # the main thread's JIT and the background optimizer's
        if j is not None:
            for f in ("parse", "optimize", "codegen"):
                setattr(jt, f, getattr(jt, f) + getattr(j.times, f))
    counted = t.policy.count_blocks  # (lockstep counts blocks its own way)
    blocks_executed = m.cpu.blocks + m.stats.thread_blocks if counted else None
    exec_s = m.stats.exec_s + m.stats.thread_exec_s
    exits = dict(m.stats.exits)
    total_exits = sum(exits.values())
    compile_s = jt.parse + jt.optimize + jt.codegen
    return {
        "units_translated": ts.units,
        "blocks_translated": ts.blocks,
        "guest_insns_translated": ts.insns,
        "units_by_tier": dict(ts.by_tier),
        "blocks_executed": blocks_executed,
        "guest_threads_created": m.stats.threads,
        "exits": exits,
        "exits_total": total_exits,
        "exits_per_block": (total_exits / blocks_executed) if blocks_executed else None,
        "exits_per_exec_second": (total_exits / exec_s) if exec_s > 0 else None,
        "cache_table_refills": ts.table_refills,
        "cache_memory_hits": ts.memory_hits,
        "cache_disk_hits": ts.disk_hits,
        "cache_disk_misses": t.disk.stats.misses if t.disk else None,
        "cache_disk_stores": t.disk.stats.stores if t.disk else None,
        "cache_disk_corrupt": t.disk.stats.corrupt if t.disk else None,
        "guest_insns_compiled": ts.translated_insns,
        "code_bytes": ts.code_bytes,
        "link_seconds": ts.link_s,
        "units_prefetched": ts.prefetched,
        "units_from_bundles": ts.bundled,
        "bundles_written": t.disk.stats.bundles_written if t.disk else None,
        "prefetch_seconds": ts.prefetch_s,
        "mcjit_loads": ts.mcjit_loads,
        "invalidations": ts.invalidations,
        "decode_seconds": ts.discover_s,
        "lift_seconds": ts.lift_s + ts.background_lift_s,
        "background_regions": ts.background_jobs,
        "promotions_put_off": ts.promotions_put_off,
        "leave_rebuilds": ts.leave_rebuilds,
        "background_lift_seconds": ts.background_lift_s,
        "parse_seconds": jt.parse,
        "optimize_seconds": jt.optimize,
        "codegen_seconds": jt.codegen,
        "compile_seconds": compile_s,
        # What one compiled guest instruction cost (decode + lift + LLVM, both threads).
        "us_per_compiled_insn": ((ts.discover_s + ts.lift_s + ts.background_lift_s + compile_s)
                                 * 1e6 / ts.translated_insns) if ts.translated_insns else None,
        "translate_seconds": m.stats.translate_s,
        "exec_seconds": m.stats.exec_s,
        "syscall_seconds": m.stats.syscall_s,
        "wall_seconds": m.stats.wall_s,
        # the same, summed over the guest threads other than main (they overlap main's time)
        "threads_exec_seconds": m.stats.thread_exec_s,
        "threads_syscall_seconds": m.stats.thread_syscall_s,
        "threads_translate_seconds": m.stats.thread_translate_s,
    }


def print_stats(s: dict[str, Any], out: TextIO) -> None:
    rows = [
        ("units translated", f"{s['units_translated']}"),
        ("blocks translated", f"{s['blocks_translated']}"),
        ("guest instructions translated", f"{s['guest_insns_translated']}"),
        ("blocks executed", "(--count-blocks)" if s["blocks_executed"] is None
         else f"{s['blocks_executed']}"),
        ("guest threads created", f"{s['guest_threads_created']}"),
        ("translation with the guest stopped", f"{s['translate_seconds'] * 1000:.1f} ms"),
        ("translation work (both threads):", ""),
        ("  decode", f"{s['decode_seconds'] * 1000:.1f} ms"),
        ("  lift", f"{s['lift_seconds'] * 1000:.1f} ms"),
        ("  parse IR", f"{s['parse_seconds'] * 1000:.1f} ms"),
        ("  optimize", f"{s['optimize_seconds'] * 1000:.1f} ms"),
        ("  codegen", f"{s['codegen_seconds'] * 1000:.1f} ms"),
        ("  link (load code)", f"{s['link_seconds'] * 1000:.1f} ms"),
        ("time in translated code", f"{s['exec_seconds'] * 1000:.1f} ms"),
        ("time in syscalls", f"{s['syscall_seconds'] * 1000:.1f} ms"),
        ("wall time", f"{s['wall_seconds'] * 1000:.1f} ms"),
        ("other guest threads (summed):", ""),
        ("  in translated code", f"{s['threads_exec_seconds'] * 1000:.1f} ms"),
        ("  in syscalls", f"{s['threads_syscall_seconds'] * 1000:.1f} ms"),
        ("  translating", f"{s['threads_translate_seconds'] * 1000:.1f} ms"),
        ("guest instructions compiled (misses)", f"{s['guest_insns_compiled']}"),
        ("code bytes compiled", f"{s['code_bytes']}"),
        ("translation cost per compiled insn",
         f"{s['us_per_compiled_insn']:.1f} us" if s["us_per_compiled_insn"] else "n/a"),
        ("units from on-disk cache", f"{s['cache_disk_hits']}"),
        ("  of which prefetched at start-up", f"{s['units_prefetched']}"),
        ("    from pre-linked images", f"{s['units_from_bundles']}"),
        ("units from in-memory cache", f"{s['cache_memory_hits']}"),
        ("lookup-table refills", f"{s['cache_table_refills']}"),
        ("invalidated units", f"{s['invalidations']}"),
        ("regions optimized in the background", f"{s['background_regions']}"),
        ("  promotions put off (optimizer busy)", f"{s['promotions_put_off']}"),
        ("baseline loops rebuilt to leave for regions", f"{s['leave_rebuilds']}"),
    ]
    for k, v in sorted(s["exits"].items()):
        rows.append((f"exits: {k}", str(v)))
    epb, eps = s["exits_per_block"], s["exits_per_exec_second"]
    rows.append(("exits per second in translated code", f"{eps:.1f}" if eps is not None
                 else "n/a"))
    if epb is not None:
        rows.append(("exits per executed block", f"{epb:.6f}"))
    width = max(len(k) for k, _ in rows)
    print("elfjit statistics", file=out)
    for k, v in rows:
        print(f"  {k:<{width}}  {v:>12}", file=out)
