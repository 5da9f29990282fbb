package ops

// family is one metric family's metadata: its Prometheus type and the
// HELP text a scraper shows.
type family struct {
	typ  string // counter, gauge, histogram or summary
	help string
}

// families documents every metric family /metrics serves. It is the one
// place that says what a name means and what type it has: WritePrometheus
// writes HELP and TYPE from it, a family a MiniTwit package registers
// without an entry here is served as "untyped" (and fails the tests), and
// the Go runtime and process families the metrics library writes but that
// are not listed are left out (malformed ones among them: histograms
// without _sum and _count, counters without _total).
//
// The type is declared here rather than taken from the library because a
// counter computed on scrape (minitwit_backup_failures_total) is a gauge
// callback to the library but a counter to Prometheus.
var families = map[string]family{
	// HTTP and the simulator API (this package).
	"minitwit_http_responses_total":         {"counter", "HTTP responses by route pattern and status code."},
	"minitwit_request_duration_seconds":     {"histogram", "HTTP request duration by route pattern, from the first byte read to the handler's return."},
	"minitwit_simulator_requests_total":     {"counter", "Simulator API writes (POST /api/...)."},
	"minitwit_simulator_errors_total":       {"counter", "Simulator API writes the course simulator counts as errors (not 204; register: not 204 or 400), by route and status."},
	"minitwit_api_refused_total":            {"counter", "Requests refused before they were served, by reason (ip, auth, join_token)."},
	"minitwit_tls_certificate_events_total": {"counter", "Certificate events in acme mode (cert_obtaining, cert_obtained, cert_failed, ...)."},

	// Raft and the store (package node).
	"minitwit_raft_state":                    {"gauge", "This node's Raft state: 0 follower, 1 candidate, 2 leader, 3 shutdown."},
	"minitwit_raft_is_leader":                {"gauge", "1 on the Raft leader, 0 elsewhere."},
	"minitwit_raft_term":                     {"gauge", "The current Raft term."},
	"minitwit_raft_last_index":               {"gauge", "Index of the last entry in this node's Raft log."},
	"minitwit_raft_commit_index":             {"gauge", "Index of the last Raft entry this node knows to be committed."},
	"minitwit_raft_applied_index":            {"gauge", "Index of the last Raft entry applied to this node's store."},
	"minitwit_raft_last_snapshot_index":      {"gauge", "Index covered by this node's last Raft snapshot."},
	"minitwit_raft_leader_changes_total":     {"counter", "Leader changes this node has observed."},
	"minitwit_raft_apply_duration_seconds":   {"histogram", "On the leader: a write from proposal to applied."},
	"minitwit_raft_forward_duration_seconds": {"histogram", "On a follower: a write forwarded to the leader, round trip."},
	"minitwit_store_apply_duration_seconds":  {"histogram", "One batch of Raft entries applied in one bbolt transaction."},
	"minitwit_users":                         {"gauge", "Users in the store."},
	"minitwit_messages":                      {"gauge", "Messages in the store."},
	"minitwit_follows":                       {"gauge", "Follow relations in the store."},
	"minitwit_flagged_messages":              {"gauge", "Messages flagged by moderators."},
	"minitwit_followers_per_user":            {"gauge", "Follow relations per user (a ratio)."},
	"minitwit_data_file_bytes":               {"gauge", "Size of the bbolt data file."},
	"minitwit_data_dir_free_bytes":           {"gauge", "Bytes available on the file system holding the data dir."},
	"minitwit_raft_voters":                   {"gauge", "Voting members in the Raft configuration as this node knows it."},

	// Certificates and backups (package node).
	"minitwit_tls_certificate_expiry_timestamp_seconds": {"gauge", "When the managed certificate expires (acme mode; 0 before the first certificate)."},
	"minitwit_backup_last_success_timestamp_seconds":    {"gauge", "When a scheduled backup was last stored on every target (0: none since start)."},
	"minitwit_backup_last_ok_timestamp_seconds":         {"gauge", "When a scheduled backup tick last ended with every target holding the current state, stored then or already (0: none since start)."},
	"minitwit_backup_interval_seconds":                  {"gauge", "The scheduled backups' interval (backup.interval)."},
	"minitwit_backup_failures_total":                    {"counter", "Scheduled backups that failed since start."},

	// In-node alerts (package node, ops/alerting).
	"minitwit_alerts_firing":                {"gauge", "In-node alerts firing, on the node that evaluates them (the leader); 0 on the others."},
	"minitwit_alert_webhook_failures_total": {"counter", "Alert notices the webhook did not accept (an attempt that failed or was refused)."},
	"minitwit_alert_notices_dropped_total":  {"counter", "Alert notices given up on: the queue was full, or the webhook refused them."},

	// Go runtime (VictoriaMetrics/metrics' names, which follow client_golang's).
	"go_goroutines":                       {"gauge", "Goroutines that currently exist."},
	"go_threads":                          {"gauge", "OS threads created."},
	"go_gomaxprocs":                       {"gauge", "GOMAXPROCS: the CPUs Go code may run on at once."},
	"go_info":                             {"gauge", "The Go version the binary was built with (always 1)."},
	"go_gc_duration_seconds":              {"summary", "Stop-the-world pauses of the last 256 garbage collections."},
	"go_gc_cpu_seconds_total":             {"counter", "CPU time spent in garbage collection."},
	"go_gc_mark_assist_cpu_seconds_total": {"counter", "CPU time goroutines spent assisting garbage collection."},
	"go_scavenge_cpu_seconds_total":       {"counter", "CPU time spent returning memory to the OS."},
	"go_mutex_wait_seconds_total":         {"counter", "Time goroutines spent blocked on sync.Mutex and sync.RWMutex."},
	"go_memlimit_bytes":                   {"gauge", "The Go runtime's soft memory limit (GOMEMLIMIT)."},
	"go_memstats_alloc_bytes":             {"gauge", "Heap bytes allocated and still in use."},
	"go_memstats_alloc_bytes_total":       {"counter", "Heap bytes allocated, even if freed since."},
	"go_memstats_frees_total":             {"counter", "Heap objects freed."},
	"go_memstats_mallocs_total":           {"counter", "Heap objects allocated."},
	"go_memstats_gc_cpu_fraction":         {"gauge", "Fraction of the CPU time used by garbage collection since start."},
	"go_memstats_heap_alloc_bytes":        {"gauge", "Heap bytes allocated and still in use."},
	"go_memstats_heap_idle_bytes":         {"gauge", "Heap bytes waiting to be used."},
	"go_memstats_heap_inuse_bytes":        {"gauge", "Heap bytes in use."},
	"go_memstats_heap_objects":            {"gauge", "Allocated heap objects."},
	"go_memstats_heap_released_bytes":     {"gauge", "Heap bytes returned to the OS."},
	"go_memstats_heap_sys_bytes":          {"gauge", "Heap bytes obtained from the OS."},
	"go_memstats_last_gc_time_seconds":    {"gauge", "When the last garbage collection finished (Unix time)."},
	"go_memstats_next_gc_bytes":           {"gauge", "Heap size at which the next garbage collection starts."},
	"go_memstats_stack_inuse_bytes":       {"gauge", "Bytes in use by goroutine stacks."},
	"go_memstats_sys_bytes":               {"gauge", "Bytes obtained from the OS in all."},

	// The process (Linux /proc).
	"process_cpu_seconds_total":              {"counter", "User and system CPU time."},
	"process_cpu_seconds_user_total":         {"counter", "User CPU time."},
	"process_cpu_seconds_system_total":       {"counter", "System CPU time."},
	"process_major_pagefaults_total":         {"counter", "Page faults that needed a disk read."},
	"process_minor_pagefaults_total":         {"counter", "Page faults served from memory."},
	"process_num_threads":                    {"gauge", "OS threads of the process."},
	"process_resident_memory_bytes":          {"gauge", "Resident memory (RSS)."},
	"process_resident_memory_peak_bytes":     {"gauge", "Peak resident memory."},
	"process_virtual_memory_bytes":           {"gauge", "Virtual memory size."},
	"process_start_time_seconds":             {"gauge", "When the process started (Unix time)."},
	"process_io_read_bytes_total":            {"counter", "Bytes read by read-like system calls."},
	"process_io_written_bytes_total":         {"counter", "Bytes written by write-like system calls."},
	"process_io_storage_read_bytes_total":    {"counter", "Bytes read from storage."},
	"process_io_storage_written_bytes_total": {"counter", "Bytes written to storage."},
	"process_open_fds":                       {"gauge", "Open file descriptors."},
	"process_max_fds":                        {"gauge", "The limit on open file descriptors."},
}
