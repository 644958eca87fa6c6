// Command mpsync keeps a System Center Operations Manager management group's
// management packs in step with what its workspace wants, from the command
// line. It is a thin layer over the mpsync.dev libraries: everything it does,
// a Go program can do through mpsync.Engine, store.Dir, workspace.Client and
// the approvers of package approval.
//
// Usage:
//
//	mpsync [flags] <command> [args] [flags]
//
// Flags may come before or after the command. The commands are:
//
//	plan                  fetch the catalog, diff, print the plan; changes nothing
//	sync                  run the selected rule(s) once: plan, approve, apply
//	status                packs, rules, pending approvals, service and connection
//	approve CHANGE-ID...  approve pending changes (or --all)
//	import FILE...        import packs by hand, owned by the operator (custom)
//	connect               bind the store to the workspace and run MPUpdate once
//	disconnect            remove the integration (every workspace pack)
//	run                   run both rules on their schedules until SIGINT/SIGTERM
//	validate              check the integration as the product docs describe
//	rollback PACK-ID      restore the previous version of a pack
//	serve-workspace       serve a catalog directory over the workspace protocol
//	approval check FILE   print an --approval-file policy as the engine reads it
//	completion SHELL      a completion script for bash, zsh, fish or powershell
//	help [COMMAND]        explain the command or one command (also COMMAND --help)
//
// A first sync against the fake workspace the repository ships:
//
//	go run ./examples/mpsync serve-workspace --dir testdata/workspace --addr 127.0.0.1:8080 --key-out /tmp/ws.key &
//	go run ./examples/mpsync --workspace-url http://127.0.0.1:8080/ --allow-http \
//	    --workspace-id 6f0c3a52-7d1e-4c1b-9a53-0d9f4f2b1e11 --workspace-key-file /tmp/ws.key sync
//
// Against a real service through an authenticating proxy:
//
//	export MPSYNC_STORE=/var/lib/mpsync MPSYNC_WORKSPACE_URL=https://workspace.example.com/
//	export MPSYNC_WORKSPACE_ID=6f0c3a52-7d1e-4c1b-9a53-0d9f4f2b1e11 MPSYNC_WORKSPACE_KEY_FILE=/etc/mpsync/key
//	mpsync --proxy http://corpproxy:80 --proxy-user 'CONTOSO\svc-scom' \
//	    --proxy-password-file /etc/mpsync/proxy-password --mg-name PROD --mg-version 7.2.11719.0 connect
//
// Exit codes: 0 the command did what it was asked (a sync whose changes are
// only pending or denied is a success); 1 something failed (a change failed,
// the catalog could not be fetched, the store could not be read, a connect
// was refused); 2 bad usage or bad configuration (unknown flag, unreadable key
// file, invalid override pack, malformed --mg-version, invalid --approval or
// --approval-file, both of them).
// Errors go to stderr as one line naming what failed and where; with --json
// they are also in the document on stdout, as its "error" field.
//
// "mpsync --approval-file FILE" reads an approval policy (YAML or JSON;
// "mpsync help approval"), and "mpsync run --metrics-addr HOST:PORT" serves
// Prometheus metrics, /healthz and /readyz while the scheduler runs.
//
// On Windows, "mpsync run" started by the service control manager runs as a
// service: Stop and Shutdown end it as SIGINT does, and its log goes to the
// Application event log (source mpsync).
//
// Run "mpsync help" for every flag, the environment variables that set them,
// and the JSON documents.
package main
