package soak

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

// report is the soak's result as Markdown, to be pasted into
// docs/reliability.md.
func report(e *soakEnv, st *stats, faults []fault, v *verdict, elapsed time.Duration, seed uint64, loadBefore, loadAfter string) string {
	var b strings.Builder
	cfg := e.cfg
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	where := "SQLite, one hub"
	if cfg.db == "postgres" {
		where = fmt.Sprintf("PostgreSQL, %d replicas sharing one schema", len(e.hubs))
	}
	faultsOn := "on"
	if !cfg.faults {
		faultsOn = "off"
	}
	p("#### Soak: %s, %d clients, %s (faults %s, seed %d)", where, cfg.clients, cfg.duration, faultsOn, seed)
	p("")
	p("%s/%s, %d cores, %s; load average before %s, after %s. Large imports of %d items (at most %d), small imports of %d, %d tasks written, %d objects in the bucket.",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), loadBefore, loadAfter, cfg.largeItems, cfg.largeImports, cfg.smallItems, cfg.answerTasks, cfg.objects)
	p("")

	st.mu.Lock()
	defer st.mu.Unlock()
	var total int64
	for _, r := range st.routes {
		total += r.n
	}
	p("**Requests:** %d in %s (%.0f/s).", total, elapsed.Round(100*time.Millisecond), float64(total)/elapsed.Seconds())
	p("")
	p("| status | requests |")
	p("|---|---|")
	for _, k := range sortedKeys(st.statuses) {
		p("| %s | %d |", k, st.statuses[k])
	}
	p("")
	p("| route | requests | errors | p50 | p99 |")
	p("|---|---|---|---|---|")
	routes := make([]string, 0, len(st.routes))
	for k := range st.routes {
		routes = append(routes, k)
	}
	sort.Strings(routes)
	for _, k := range routes {
		r := st.routes[k]
		s := sortedDurations(r.lat)
		p("| %s | %d | %d | %s | %s |", k, r.n, r.errs, ms(percentile(s, 0.5)), ms(percentile(s, 0.99)))
	}
	p("")
	var mem []string
	for _, h := range append(append([]*proc{}, e.hubs...), e.exportProc, e.explorerProc) {
		mem = append(mem, fmt.Sprintf("%s %.0f MB (%d start%s)", h.name, float64(h.peak())/1024, h.starts, plural(h.starts)))
	}
	p("**Peak memory (VmHWM):** %s.", strings.Join(mem, ", "))
	p("")
	if len(faults) > 0 {
		p("**Faults** (errors counted from the fault's start to 5 s after its end, or to the next fault):")
		p("")
		p("| at | fault | lasted | errors | most frequent |")
		p("|---|---|---|---|---|")
		for i, f := range faults {
			from, to := f.at, f.at+f.lasted+5*time.Second
			if i+1 < len(faults) {
				to = min(to, faults[i+1].at)
			}
			var in []errEvent
			for _, ev := range st.errors {
				if ev.at >= from && ev.at <= to {
					in = append(in, ev)
				}
			}
			p("| %s | %s | %s | %d | %s |", f.at.Round(100*time.Millisecond), f.detail, f.lasted.Round(100*time.Millisecond), len(in), topErrors(in, 3, "; "))
		}
		p("")
	}
	p("**Errors** (by route, status and message; an ended import or run that did not succeed is listed by its state; the 15 most frequent, then every other failed write):")
	p("")
	p("| count | route | status | message |")
	p("|---|---|---|---|")
	for i, g := range groupErrors(st.errors, len(st.errors)) {
		if i >= 15 && !strings.HasPrefix(g.route, "POST ") && !strings.HasPrefix(g.route, "PUT ") {
			continue
		}
		p("| %d | %s | %s | %s |", g.n, g.route, g.status, strings.ReplaceAll(g.message, "|", "\\|"))
	}
	p("")
	p("**Invariants**, checked in the database after the load (imports and runs drained in %s):", v.drained.Round(100*time.Millisecond))
	p("")
	p("| acknowledged | count | outcome unknown | lost | duplicated |")
	p("|---|---|---|---|---|")
	p("| imports that succeeded | %d | %d | | |", v.imports, v.unknownImports)
	p("| their items (distinct externalIds) | %d | | %d | %d |", v.items, countPrefix(v.lost, "item", "asset"), countPrefix(v.duplicated, "asset"))
	p("| answer writes (2xx with If-Match) | %d on %d tasks | %d | %d | %d |", v.answerWrites, v.answerTasks, v.unknownAnswers, countPrefix(v.lost, "task"), countPrefix(v.duplicated, "task"))
	p("| runs created | %d | %d | %d | %d |", v.runs, v.unknownRuns, countPrefix(v.lost, "export", "csv", "file"), countPrefix(v.duplicated, "run", "runs"))
	p("")
	p("Runs by state: %s. Imports of the soak's projects by state: %s.", mapLine(v.runStates), mapLine(v.importStates))
	p("")
	p("**Counts:** %d ended imports (imported = assets carrying the import's id), %d exports (X-Total-Count = lines), %d CSV runs (rows = tasks): %d wrong.",
		v.importsChecked, v.exportsChecked, v.csvChecked, len(v.counts))
	for _, list := range []struct {
		name  string
		items []string
	}{{"lost", v.lost}, {"duplicated", v.duplicated}, {"counts", v.counts}, {"notes", v.notes}} {
		for i, s := range list.items {
			if i == 20 {
				p("- %s: … %d more", list.name, len(list.items)-20)
				break
			}
			if len(s) > 300 {
				s = s[:300] + "…"
			}
			p("- %s: %s", list.name, s)
		}
	}
	p("")
	if v.ok() {
		p("**Result: 0 acknowledged writes lost, 0 duplicated, every count true.**")
	} else {
		p("**Result: FAILED: %d lost, %d duplicated, %d counts wrong.**", len(v.lost), len(v.duplicated), len(v.counts))
	}
	return b.String()
}

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func mapLine(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func countPrefix(list []string, prefixes ...string) int {
	n := 0
	for _, s := range list {
		for _, p := range prefixes {
			if strings.HasPrefix(s, p+" ") {
				n++
				break
			}
		}
	}
	return n
}

type errGroup struct {
	route, status, message string
	n                      int
}

func groupErrors(evs []errEvent, top int) []errGroup {
	m := map[[3]string]int{}
	for _, ev := range evs {
		m[[3]string{ev.route, ev.status, ev.message}]++
	}
	out := make([]errGroup, 0, len(m))
	for k, n := range m {
		out = append(out, errGroup{k[0], k[1], k[2], n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].route+out[i].status+out[i].message < out[j].route+out[j].status+out[j].message
	})
	if len(out) > top {
		out = out[:top]
	}
	return out
}

func topErrors(evs []errEvent, top int, sep string) string {
	var parts []string
	for _, g := range groupErrors(evs, top) {
		parts = append(parts, fmt.Sprintf("%d × %s %s %s", g.n, g.route, g.status, strings.ReplaceAll(g.message, "|", "\\|")))
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, sep)
}

// loadAverage is the first field of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
