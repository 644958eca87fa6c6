package mpsync

// DisableIdleReuse makes every run of e plan afresh, for tests and
// benchmarks that compare the idle shortcut with the full plan.
func DisableIdleReuse(e *Engine) { e.noIdle = true }
