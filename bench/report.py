#!/usr/bin/env python3
"""Turn the raw data of one bench/run into the markdown report (stdlib only).

    report.py DATADIR      (DATADIR = bench/.work/runs/<prefix>)

DATADIR holds samples.tsv (iter, series, runtime, value, cpu_ms, rc), meta.tsv
(key, value) and errors.log, written by bench/run. Values are µs for timings
and KiB for e.rss. Re-running this script on a saved run reproduces its report.
"""
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

REFS = ("crun", "runc")  # every runtime is compared against these, when present

SERIES_TITLES = {
    "a.run": "(a) run",
    "b.create": "(b) create",
    "b.start": "(b) start",
    "b.delete": "(b) delete (stopped)",
    "c.run": "(c) run, no netns",
    "c.create": "(c) create, no netns",
    "c.start": "(c) start, no netns",
    "c.delete": "(c) delete, no netns",
    "f.host": "exec of the rootfs' `true` on the host (harness cost)",
    "f.unshare-net": "`unshare --fork --pid --mount --uts --ipc --net chroot ROOTFS /bin/true`",
    "f.unshare": "same without `--net`",
    "f.clone-net": "clone + pivot_root floor",
    "f.clone": "clone + pivot_root floor, no NEWNET",
}
# CPU of create is incomplete (the container init is left behind, never reaped by the caller)
NO_CPU = {"b.create", "c.create", "e.rss"}


def load(datadir):
    meta = {}
    for line in (datadir / "meta.tsv").read_text().splitlines():
        k, _, v = line.partition("\t")
        meta[k] = v
    # samples[series][runtime] = {iter: (value, cpu)} for successful samples; fails counted apart
    samples = defaultdict(lambda: defaultdict(dict))
    fails = defaultdict(int)
    for line in (datadir / "samples.tsv").read_text().splitlines():
        it, series, rt, value, cpu, rc = line.split("\t")
        if rc != "0":
            fails[(series, rt)] += 1
            continue
        samples[series][rt][int(it)] = (float(value), float(cpu))
    errors = (datadir / "errors.log").read_text().splitlines() if (datadir / "errors.log").exists() else []
    return meta, samples, fails, errors


def quantile(xs, q):
    xs = sorted(xs)
    if not xs:
        return math.nan
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def stats(series_rt):
    """Statistics of one series for one runtime; times converted from µs to ms."""
    vals = [v for v, _ in series_rt.values()]
    cpus = [c for _, c in series_rt.values()]
    if not vals:
        return None
    return {
        "n": len(vals),
        "median": statistics.median(vals),
        "mean": statistics.fmean(vals),
        "min": min(vals),
        "p10": quantile(vals, 0.10),
        "p90": quantile(vals, 0.90),
        "max": max(vals),
        "stdev": statistics.stdev(vals) if len(vals) > 1 else 0.0,
        "cpu": statistics.fmean(cpus),
    }


def paired(x, a):
    """Median over iterations of x_i / a_i (samples of the same iteration only)."""
    rs = [x[i][0] / a[i][0] for i in x.keys() & a.keys() if a[i][0] > 0]
    return statistics.median(rs) if rs else math.nan


def ms(us):
    return "–" if us is None or math.isnan(us) else f"{us / 1000:.2f}"


def ratio(x, a):
    if x is None or a is None or not a or math.isnan(x) or math.isnan(a):
        return "–"
    return f"{x / a:.2f}×"


def fx(r):
    return "–" if r is None or math.isnan(r) else f"{r:.2f}×"


def mib(b):
    return f"{int(b) / 1048576:.2f} MiB"


def table(header, rows, align=None):
    align = align or ["---"] + ["---:"] * (len(header) - 1)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


class Report:
    def __init__(self, datadir):
        self.meta, self.samples, self.fails, self.errors = load(datadir)
        self.rts = self.meta.get("runtimes", "").split()
        self.out = []

    def p(self, *lines):
        self.out.extend(lines)

    def st(self, series, rt):
        return stats(self.samples[series].get(rt, {}))

    def present(self, prefix):
        return any(s.startswith(prefix) and self.samples[s] for s in self.samples)

    # ---------------------------------------------------------------- sections
    def header(self):
        m = self.meta
        self.p("# Runtime benchmark: " + ", ".join(self.rts), "")
        self.p(
            f"Run `{m.get('prefix')}` on {m.get('date')}: seed **{m.get('seed')}**, "
            f"{m.get('iterations')} iterations + {m.get('warmup')} warm-up, phases {m.get('phases')}, "
            f"{m.get('total_seconds', '?')} s in all (interleaved loop {m.get('loop_seconds', '?')} s). "
            "Repeat with `--seed`.",
            "",
            f"Machine: {m.get('os')}, kernel {m.get('kernel')}, {m.get('cpus')}, {m.get('memory')}; "
            f"cgroups: {m.get('cgroups')}.",
            "",
        )
        if int(m.get("iterations", 0)) < 50:
            self.p("**Fewer than 50 iterations: a smoke test of the harness, not a measurement.**", "")
        rows = []
        names = sorted({k.split(".")[1] for k in m if k.startswith("rt.")},
                       key=lambda n: (n not in self.rts, self.rts.index(n) if n in self.rts else 0, n))
        for n in names:
            rows.append([f"**{n}**", f"`{m.get(f'rt.{n}.path', '')}`", m.get(f"rt.{n}.version", "–") or "–",
                         m.get(f"rt.{n}.status", "?")])
        self.p(table(["runtime", "binary", "version", "status"], rows, ["---"] * 4), "")
        if "note" in m:
            self.p(f"Note: {m['note']}.", "")

    def noise(self):
        m = self.meta
        self.p("## Noise", "")
        rows = [
            ["CPU busy in a 2 s idle sample before / after (background load)",
             f"{m.get('noise_idle_before', '?')} % / {m.get('noise_idle_after', '?')} %"],
            ["load average before / after", f"{m.get('noise_idle_before_loadavg', '?')} / {m.get('noise_idle_after_loadavg', '?')}"],
            ["CPU busy during the interleaved loop (benchmark included)", f"{m.get('noise_busy_loop', '?')} %"],
            ["CPU steal during the loop", f"{m.get('noise_steal', '?')} %"],
            ["PSI cpu \"some\" during the loop", f"{m.get('noise_psi_some', '?')} %"],
        ]
        self.p(table(["figure", "value"], rows), "")
        self.p(
            "An A/A run (the same binary listed twice) differs by up to ±10 % on the median, ±5 % on mean and "
            "p10, ±3 % on mean CPU and ±25 % on min. Treat median differences under ~10 % as noise; confirm "
            "smaller effects with mean CPU and p10, more iterations (300) and a quieter machine. Under load "
            "wall-clock ratios drift towards 1; the CPU ratio is the least affected.",
            "",
        )

    def series_table(self, series_list, runtimes, cpu=True):
        header = ["series", "runtime", "n", "median", "mean", "min", "p10", "p90", "stdev"]
        if cpu:
            header.append("mean CPU")
        header.append("fails")
        rows = []
        for s in series_list:
            for rt in runtimes:
                st = self.st(s, rt)
                f = self.fails.get((s, rt), 0)
                if st is None and not f:
                    continue
                row = [SERIES_TITLES.get(s, s), rt]
                if st is None:
                    row += [0] + ["–"] * 6
                else:
                    row += [st["n"], f"**{ms(st['median'])}**"] + [ms(st[k]) for k in ("mean", "min", "p10", "p90", "stdev")]
                if cpu:
                    row.append("–" if st is None or s in NO_CPU else f"{st['cpu']:.2f}")
                row.append(f or "")
                rows.append(row)
        align = ["---", "---"] + ["---:"] * (len(header) - 2)
        return table(header, rows, align) if rows else ""

    def phases_abc(self):
        if self.present("a."):
            self.p("## (a) run: create + start + wait + delete of `/bin/true`", "", "Times in ms; CPU = user+sys ms of the runtime and the children it reaped.", "")
            self.p(self.series_table(["a.run"], self.rts), "")
        if self.present("b."):
            self.p("## (b) create / start / delete", "",
                   "Times in ms. CPU of `create` is not reported: the container init it leaves behind is never reaped by the caller.", "")
            self.p(self.series_table(["b.create", "b.start", "b.delete"], self.rts), "")
            self.sum_of_medians("b")
        if self.present("c."):
            self.p("## (c) without a network namespace", "")
            self.p(self.series_table(["c.run", "c.create", "c.start", "c.delete"], self.rts), "")
            self.sum_of_medians("c")
            if self.present("a."):
                rows = []
                for rt in self.rts:
                    a, c = self.st("a.run", rt), self.st("c.run", rt)
                    if a and c:
                        rows.append([rt, ms(a["median"] - c["median"]), ms(a["p10"] - c["p10"]), f"{a['cpu'] - c['cpu']:.2f}"])
                self.p("netns cost = (a) − (c), ms (differences of a few tenths are noise):", "")
                self.p(table(["runtime", "median", "p10", "mean CPU"], rows), "")

    def sum_of_medians(self, ph):
        rows = []
        for rt in self.rts:
            sts = [self.st(f"{ph}.{s}", rt) for s in ("create", "start", "delete")]
            if all(sts):
                rows.append([rt, ms(sum(s["median"] for s in sts))])
        if rows:
            self.p(f"Sum of the ({ph}) medians, ms (every CLI call pays process start-up, so this exceeds `run`):", "")
            self.p(table(["runtime", "create + start + delete"], rows), "")

    def ratios(self):
        refs = [r for r in REFS if r in self.rts]
        if not refs or len(self.rts) < 2:
            return
        pairs, shown = [], set()
        for ref in refs:
            for rt in self.rts:
                if rt == ref or (ref, rt) in shown:
                    continue
                pairs.append((rt, ref))
                shown.add((rt, ref))
        conc = self.meta.get("concurrency", "50")
        series = ["a.run", "b.create", "b.start", "b.delete", "c.run", "c.create", "c.start", "c.delete",
                  f"d.create{conc}", f"d.delete{conc}", "e.rss"]
        self.p("## Ratios", "",
               "X ÷ reference; > 1 means X is slower or bigger. **median** = ratio of medians; **paired** = median "
               "over iterations of X_i ÷ ref_i (same iteration, same load); **p10** = ratio of the 10th percentiles; "
               "**CPU** = ratio of mean user+sys CPU. Ratios of minimums are unreliable and not shown.", "")
        head = []
        for x, ref in pairs:
            a, r = self.st("a.run", x), self.st("a.run", ref)
            if a and r:
                head.append([f"**{x} ÷ {ref}**", f"**{fx(a['median'] / r['median'])}**",
                             fx(paired(self.samples['a.run'][x], self.samples['a.run'][ref])),
                             fx(a["p10"] / r["p10"]), fx(a["cpu"] / r["cpu"] if r["cpu"] else math.nan)])
        if head:
            self.p("Headline, (a) run:", "")
            self.p(table(["pair", "median", "paired", "p10", "CPU"], head), "")
        for x, ref in pairs:
            rows = []
            for s in series:
                sx, sr = self.st(s, x), self.st(s, ref)
                if not sx or not sr:
                    continue
                cpu = "–" if s in NO_CPU or s.startswith("d.") or not sr["cpu"] else fx(sx["cpu"] / sr["cpu"])
                rows.append([SERIES_TITLES.get(s, {"e.rss": "(e) peak RSS of create",
                                                    f"d.create{conc}": f"(d) {conc} concurrent creates",
                                                    f"d.delete{conc}": f"(d) {conc} concurrent deletes"}.get(s, s)),
                             f"**{fx(sx['median'] / sr['median'])}**",
                             fx(paired(self.samples[s][x], self.samples[s][ref])),
                             fx(sx["p10"] / sr["p10"]) if sr["p10"] else "–", cpu])
            m = self.meta
            for key, title in (("size", "(e) binary size"), ("size_with_libs", "(e) binary + non-libc shared libs")):
                bx, br = m.get(f"rt.{x}.{key}"), m.get(f"rt.{ref}.{key}")
                if bx and br:
                    rows.append([title, f"**{fx(int(bx) / int(br))}**", "", "", ""])
            sx, sr, fl = self.st("a.run", x), self.st("a.run", ref), self.st("f.clone-net", "floor")
            if sx and sr and fl and sr["median"] > fl["median"]:
                rows.append(["(f) (a) median − clone floor median",
                             f"**{fx((sx['median'] - fl['median']) / (sr['median'] - fl['median']))}**", "", "", ""])
            if rows:
                self.p(f"### {x} ÷ {ref}", "")
                self.p(table(["series", "median", "paired", "p10", "CPU"], rows), "")

    def concurrency(self):
        conc = self.meta.get("concurrency", "50")
        c, d = f"d.create{conc}", f"d.delete{conc}"
        if not self.present("d."):
            return
        self.p(f"## (d) concurrency: {conc} `create`s at once, then {conc} concurrent `delete --force`", "",
               f"{self.meta.get('rounds')} rounds per runtime, runtime order shuffled per round. Wall time of a whole "
               "round in ms; throughput = containers ÷ median(create + delete round). Rounds with any failure "
               "are left out. (d) is the noisiest section: use `--rounds 20` or more when it matters.", "")
        rows = []
        for rt in self.rts:
            sc, sd = self.st(c, rt), self.st(d, rt)
            if not sc and not sd:
                continue
            both = [self.samples[c][rt][i][0] + self.samples[d][rt][i][0]
                    for i in self.samples[c][rt].keys() & self.samples[d][rt].keys()]
            thr = int(conc) / (statistics.median(both) / 1e6) if both else math.nan
            fails = self.fails.get((c, rt), 0) + self.fails.get((d, rt), 0)
            rows.append([rt, sc["n"] if sc else 0, f"**{ms(sc['median'])}**" if sc else "–", ms(sc["min"]) if sc else "–",
                         ms(sc["max"]) if sc else "–", f"**{ms(sd['median'])}**" if sd else "–",
                         ms(sd["min"]) if sd else "–", ms(sd["max"]) if sd else "–",
                         "–" if math.isnan(thr) else f"{thr:.1f}", fails or ""])
        self.p(table(["runtime", "rounds", "create median", "min", "max", "delete median", "min", "max",
                      "containers/s", "failed rounds"], rows), "")

    def footprint(self):
        m = self.meta
        self.p("## (e) footprint", "")
        rows = []
        for rt in self.rts:
            st = self.st("e.rss", rt)
            libs = m.get(f"rt.{rt}.libs", "").split()
            libtxt = ", ".join(f"{l.split(':')[0]} ({int(l.split(':')[1]) / 1048576:.2f})" for l in libs) or "none"
            rows.append([rt, f"**{st['median']:.0f}**" if st else "–", f"{st['min']:.0f}–{st['max']:.0f}" if st else "–",
                         mib(m.get(f"rt.{rt}.size", 0)), mib(m.get(f"rt.{rt}.size_with_libs", 0)), libtxt])
        self.p("Peak RSS of `create` (GNU time `%M`: the largest of the runtime process and the children it reaps; "
               "the container init left behind is not included), KiB. Shared libraries: `ldd`, without glibc "
               "(libc, libm, libpthread, libdl, librt, ld-linux), sizes in MiB.", "")
        if not self.present("e."):
            self.p("Phase (e) was not run: no peak RSS figures.", "")
        self.p(table(["runtime", "peak RSS median", "range", "binary", "binary + libs", "non-libc shared libs"],
                     rows, ["---", "---:", "---:", "---:", "---:", "---"]), "")

    def floors(self):
        if not self.present("f."):
            return
        self.p("## (f) floors", "", "Measured in the same interleaved loop, ms.", "")
        fl = ["f.host", "f.unshare-net", "f.unshare", "f.clone-net", "f.clone"]
        self.p(self.series_table(fl, ["floor"]).replace("| floor |", "| |"), "")
        rows = []
        fn, f0 = self.st("f.clone-net", "floor"), self.st("f.clone", "floor")
        for rt in self.rts:
            a, c = self.st("a.run", rt), self.st("c.run", rt)
            if not a and not c:
                continue
            row = [rt]
            row += [ms(a["median"] - fn["median"]), fx(a["median"] / fn["median"])] if a and fn else ["–", "–"]
            row += [ms(c["median"] - f0["median"]), fx(c["median"] / f0["median"])] if c and f0 else ["–", "–"]
            rows.append(row)
        if not rows:
            return
        self.p("The runtime's own overhead above the kernel floor (clone + pivot_root), medians, ms:", "")
        self.p(table(["runtime", "(a) − floor", "(a) ÷ floor", "(c) − floor no NEWNET", "(c) ÷ floor no NEWNET"], rows), "")

    def failures(self):
        m = self.meta
        lines = []
        if m.get("leftovers", "none") != "none":
            lines.append(f"- **left behind after cleanup**: {m['leftovers']}")
        if "watchdog" in m:
            lines.append(f"- watchdog: {m['watchdog']}")
        for e in self.errors[:30]:
            lines.append(f"- {e[:400]}")
        if len(self.errors) > 30:
            lines.append(f"- … {len(self.errors) - 30} more in errors.log")
        self.p("## Failures and cleanup", "")
        self.p(*(lines or ["None: every command succeeded; nothing of the run was left behind (state roots, cgroup dirs, mounts)."]), "")

    def render(self):
        self.header()
        self.ratios()
        self.phases_abc()
        self.concurrency()
        self.footprint()
        self.floors()
        self.noise()
        self.failures()
        return "\n".join(self.out).rstrip() + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.stdout.write(Report(Path(sys.argv[1])).render())
