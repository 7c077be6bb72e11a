"""The plots of `make bench`'s report (build/bench/report.md), drawn with
matplotlib (Debian's python3-matplotlib) when it is installed; without it the
report is the same, with a line saying how to get the plots.

Two kinds, one PNG each per comparison (a peers table of grader/bench.py):
  - <group>-ratios.png: per workload, how far ahead green is of each peer
    (the tables' "peer vs green" column), as horizontal bars on a log axis
    with a line at 1x: right of it green is ahead, left of it behind;
  - <group>-scaling.png: for each workload measured at several worker counts
    (keys with workers=W), green's and each peer's figure over W.
"""

import re
from collections import defaultdict


def available():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # files only: no display
    import matplotlib.pyplot as plt
    return plt


def ratio_rows(rows):
    """[(label, {peer: ratio})] of the rows that have at least one ratio.
    rows: [(label, {peer: ratio or None})]."""
    return [(label, {p: r for p, r in ratios.items() if r}) for label, ratios in rows
            if any(ratios.values())]


def scaling_series(green, columns):
    """{workload without workers=: {who: [(W, value)]}} for workloads measured
    at two or more worker counts by someone. green: {key: value}; columns:
    {peer: {key: (value, unit)}}."""
    series = defaultdict(lambda: defaultdict(list))
    sources = [("green", {k: v for k, v in green.items()})]
    sources += [(p, {k: v[0] for k, v in f.items()}) for p, f in columns.items()]
    for who, figures in sources:
        for key, value in figures.items():
            m = re.search(r"\bworkers=(\d+)\b", key)
            if m is None or value is None:
                continue
            base = re.sub(r"\s*\bworkers=\d+\b", "", key).strip()
            series[base][who].append((int(m.group(1)), value))
    return {base: {who: sorted(pts) for who, pts in by.items()}
            for base, by in series.items() if any(len(pts) >= 2 for pts in by.values())}


def plot_ratios(path, title, rows):
    """rows: [(label, {peer: ratio})]; writes path. False if nothing to plot."""
    rows = ratio_rows(rows)
    if not rows:
        return False
    plt = _pyplot()
    peers = sorted({p for _, r in rows for p in r})
    height = 0.8 / max(1, len(peers))
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) * max(1, len(peers)) + 1.5))
    for i, peer in enumerate(peers):
        ys = [n + i * height for n in range(len(rows))]
        ratios = [r.get(peer) for _, r in rows]
        # Each bar runs from 1x to its ratio: right for green ahead, left for behind.
        ax.barh([y for y, r in zip(ys, ratios) if r], [r - 1 for r in ratios if r], left=1.0,
                height=height, label=f"{peer} vs green")
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks([n + 0.4 - height / 2 for n in range(len(rows))])
    ax.set_yticklabels([label for label, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("how far ahead green is (x, log scale; right of 1: green ahead)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def plot_scaling(path, title, series, units):
    """series: scaling_series(); units: {workload: unit}. False if nothing to plot."""
    if not series:
        return False
    plt = _pyplot()
    n = len(series)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.6), squeeze=False)
    for ax, (base, by) in zip(axes[0], sorted(series.items())):
        for who, pts in sorted(by.items()):
            ax.plot([w for w, _ in pts], [v for _, v in pts], marker="o", label=who)
        ax.set_title(base, fontsize=9)
        ax.set_xlabel("workers")
        ax.set_ylabel(units.get(base, ""))
        ax.set_xticks(sorted({w for pts in by.values() for w, _ in pts}))
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
