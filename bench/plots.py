"""PNG plots of bench/results/latest.json."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def draw(figures: dict[str, float], folder: Path) -> list[Path]:
    out = []
    ratios = {
        "upload\n(vs bare stream)": figures.get("upload_ratio"),
        "GetJob rps\n(vs bare echo)": figures.get("getjob_ratio"),
        "pipeline time\n(vs direct whisper)": figures.get("pipeline_ratio"),
        "8 workers\n(vs 1)": figures.get("workers_8_vs_1"),
    }
    names = [k for k, v in ratios.items() if v is not None]
    values = [float(ratios[k] or 0) for k in names]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(names, values, color=["#3b6ea5", "#3b6ea5", "#a55b3b", "#3b8a5a"][: len(values)])
    ax.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    for i, v in enumerate(values):
        ax.text(i, v, f"{v:.2f}", ha="center", va="bottom")
    ax.set_title("Consulta against its references (same machine, same run)")
    fig.tight_layout()
    path = folder / "ratios.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    out.append(path)

    latencies = {
        "GetJob p50": figures.get("getjob_p50_ms"),
        "GetJob p99": figures.get("getjob_p99_ms"),
        "relay p50": figures.get("relay_p50_ms"),
        "relay p99": figures.get("relay_p99_ms"),
    }
    names = [k for k, v in latencies.items() if v is not None]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.barh(names, [float(latencies[k] or 0) for k in names], color="#3b6ea5")
    ax.set_xlabel("milliseconds")
    ax.set_title("Latency: GetJob at 64 in flight; note delta to 100 WatchJob clients")
    fig.tight_layout()
    path = folder / "latency.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    out.append(path)
    return out
