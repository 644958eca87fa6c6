package main

import (
	"fmt"
	"io"
	"strings"
)

// usageText is what --help and "help" print.
const usageText = `mpsync keeps an Operations Manager management group's management packs in
step with what its workspace wants.

Usage:
  mpsync [flags] <command> [args] [flags]

Flags may come before or after the command: "mpsync --json status" and
"mpsync status --json" are the same. "--" ends the flags. "mpsync help
COMMAND" or "mpsync COMMAND --help" shows one command with its flags.

Commands:
  plan                  fetch the catalog, diff it against the store, print the plan;
                        changes nothing
  sync                  run the selected rule(s) once: plan, ask the approver, apply
                        what is approved
  status                imported packs, rules with their effective settings, pending
                        approvals, last and next runs, the service and the connection;
                        works from local state when the service is unreachable
  approve CHANGE-ID...  approve pending changes (or --all for every pending one)
  import FILE...        import packs by hand; they are owned by the operator (custom)
                        and sync never upgrades or removes them; an override pack
                        imported this way applies to the rules
  override              write an override of a rule (Enabled, Frequency) into the
                        override pack in the store, as the console does
  connect               bind the store to the workspace, check the requirements,
                        record the connection, run MPUpdate once
  disconnect            remove the integration: every pack the workspace owns
  run                   run both rules on their schedules until SIGINT/SIGTERM
  validate              check the integration (connected, parts, the service and
                        its key, packs current, runs)
  rollback PACK-ID      restore the previous version of a pack the store kept
  rebuild-store         rebuild a damaged store database from its pack files, and
                        list the packs whose provenance was lost
  repair                set corrupt metadata records aside (NAME.corrupt) and start
                        them afresh: the run history, the pending changes, the
                        approval queue
  serve-workspace       serve a catalog directory over the workspace protocol
  approval check FILE   read an --approval-file policy as sync and run would, print
                        it and when each of its windows opens next
  completion SHELL      print a completion script for bash, zsh, fish or
                        powershell ("mpsync completion SHELL --help" says how
                        to load it)
  help [COMMAND]        this text, or one command's

Flags (environment variable in brackets):
  --store DIR                  the directory store [MPSYNC_STORE] (default ./mpsync-store,
                               in the working directory, on Windows too), e.g.
                               /var/lib/mpsync or C:\ProgramData\mpsync; the catalog
                               cache lives in DIR/cache
  --database URL               a PostgreSQL store shared by the group's management
                               servers instead of --store [MPSYNC_DATABASE], e.g.
                               postgres://mpsync@db/mpsync; run on several servers:
                               one runs the rules, the others stand by and take over;
                               the password never appears in output, logs or errors
  --lease-ttl DURATION         with --database, how long run holds the lease between
                               renewals (default 3m) [MPSYNC_LEASE_TTL]
  --workspace-url URL          base URL of the workspace service [MPSYNC_WORKSPACE_URL]
  --workspace-id ID            workspace id [MPSYNC_WORKSPACE_ID]
  --workspace-key-file FILE    file holding the base64 workspace key
                               [MPSYNC_WORKSPACE_KEY_FILE]
  --proxy URL                  HTTP proxy, e.g. http://corpproxy:80 [MPSYNC_PROXY]
  --proxy-user NAME            proxy account (the Run As account) [MPSYNC_PROXY_USER]
  --proxy-password-file FILE   file holding the proxy password [MPSYNC_PROXY_PASSWORD_FILE]
  --overrides FILE             override management pack (XML) for the rules; repeatable;
                               a directory adds its *.xml files
                               [MPSYNC_OVERRIDES, a path list]
  --platform FILE              the group's installed packs, as Get-SCOMManagementPack |
                               Select-Object Name, Version exported with Export-Csv or
                               ConvertTo-Json; they satisfy references instead of the
                               built-in platform libraries [MPSYNC_PLATFORM]
  --lock-timeout DURATION      how long a command that changes packs waits while another
                               process (a running scheduler) holds the store, e.g. 30s;
                               0 fails at once (default 10s) [MPSYNC_LOCK_TIMEOUT];
                               status, plan, approve and validate never wait
  --approval MODE              auto (default), manual, freeze[:REASON], or
                               window:<cron>:<duration>[:<tz>], e.g.
                               "window:0 2 * * SAT:4h:Europe/Berlin" [MPSYNC_APPROVAL]
  --approval-file FILE         an approval policy (YAML or JSON: windows, manual, freeze,
                               promotion, version policies, all/any; "mpsync help
                               approval") instead of --approval; giving both is bad
                               usage [MPSYNC_APPROVAL_FILE]
  --max-removal-share SHARE    how much of the workspace's packs one run may remove
                               unconfirmed (default 50%; e.g. 0.5); a run that would
                               remove more, and more than one pack, holds its removals
                               (result denied, by removal-guard): check the catalog,
                               then run once with 100% [MPSYNC_MAX_REMOVAL_SHARE]
  --rule RULE                  MPUpdate, GetIntelligencePacks, a full rule id, or all
                               (default) [MPSYNC_RULE]
  --allow-http                 accept plain http:// URLs (tests, the quickstart)
                               [MPSYNC_ALLOW_HTTP]
  --json                       machine-readable output: one JSON document on stdout
  --mg-name NAME               the management group's name [MPSYNC_MG_NAME]
  --mg-version VERSION         its 4-part Operations Manager version, checked by connect
                               against the connection requirement [MPSYNC_MG_VERSION]
  --language CODE              its UI language (default ENU) [MPSYNC_LANGUAGE]
  --retries N                  retries of a failed request to the service (default 4;
                               0: none) [MPSYNC_RETRIES]
  -v, --verbose                debug logs; plan and sync also list packs kept as they are
  -h, --help                   this text

Command flags:
  approve:          --all (approve every pending change), --by NAME (who approves;
                    default $USER)
  import:           --force (take over a workspace's pack)
  approval check:   --at TIME (RFC 3339; default now: when the windows open after it)
  run:              --metrics-addr HOST:PORT (serve /metrics, /healthz and /readyz
                    there) [MPSYNC_METRICS_ADDR]
  override:         --enabled true|false, --frequency SECONDS, --pack ID (default
                    MPSync.Advisor.Overrides), --module ID (of a Frequency
                    override; default the pack's existing one, else Scheduler),
                    --export FILE (write the pack from the store to FILE)
  serve-workspace:  --dir DIR, --addr HOST:PORT (default 127.0.0.1:8080),
                    --key-out FILE (write the workspace key there; without it the
                    key is printed)

Output:
  For people, tables on stdout; a progress line on stderr while packs download,
  only when stderr is a terminal and --json is not set. Logs go to stderr
  (slog text format), level warn (info for run and serve-workspace), debug with -v.
  Commands other than run and serve-workspace print their log records when they
  end, and only when they succeed: a failure is reported by its one error line
  alone. With -v every record is printed as it happens.

  With --json, stdout holds exactly one JSON document. Times are RFC 3339 in UTC;
  a time that is not known is "" (keys are always present). Versions not known
  (the "from" of an import, the "to" of a removal) are "".

  plan, sync, connect:
    {"workspaceId": "...", "changes": [{"id": "chg-...", "rule": "...",
      "action": "import|upgrade|remove|keep|blocked", "pack": "...",
      "from": "", "to": "7.2.11719.0", "solution": "...", "reason": "...",
      "result": "applied|pending|denied|failed|skipped" ("" for plan),
      "error": ""}], "rules": [...], "catalogSerial": 1, "stale": false,
      "skipped": [{"rule", "reason"}], "connection": {...} (connect)}
    Changes are in the order they are (or would be) applied; keep entries are
    listed only with --verbose.
  status:
    {"workspaceId", "group",
     "packs": [{"id", "version", "owner": "workspace|custom", "rule", "solution",
                "sha256", "importedAt", "name", "size", "previous"}],
     "rules": [{"id", "shortName", "enabled", "frequencySeconds", "lastRun",
                "lastResult", "lastError", "nextRun", "enabledSource",
                "frequencySource"}],
     "pending": [{"id", "pack", "to", "action", "rule", "from",
                  "approval": "waiting|decided|deferred"}],
     "workspace": {"reachable", "lastCatalogSerial", "lastError", "checkedAt",
                   "probed"},
     "connection": {"state": "connected|disconnected|never", "workspaceId",
                    "managementGroup": {"name", "version", "language"},
                    "since", "parts": [{"kind", "name"}]},
     "overrides": {"packs": [{"id", "version", "from": "store|file"}],
                   "warnings": [...], "error": ""}}
    enabledSource and frequencySource name the override and the pack that set
    the value ("default" otherwise).
  override: {"pack": {pack as in status} or null, "overrides": [{"rule", "id",
              "setting": "Enabled|Frequency", "value", "module"}],
             "unchanged": false, "exported": "FILE or empty", "warnings": [...]}
  approve: {"approved": [ids], "preapproved": [ids]}
  import: {"imported": [packs as in status]}
  disconnect: {"workspaceId", "removed": [packs], "kept": [{"id", "reason"}],
               "failed": [{"id", "reason"}], "partsRemoved": [{"kind", "name"}]}
  validate: {"workspaceId", "ok", "checks": [{"name", "ok", "detail"}]}
  Errors: when a command fails, its document has an "error" field holding the
  same line as stderr; when it fails before it has a document (bad usage, a
  store that cannot be opened) the document is {"error": "...", "exitCode": N}.

Exit codes:
  0  the command did what it was asked (a sync whose changes are only pending
     or denied by the approver is a success)
  1  something failed: a change failed, the catalog could not be fetched (also
     when a stale, last-known catalog was used), the store could not be read,
     connect was refused (version requirement, missing Resources pack), sync or
     run on a disconnected store
  2  bad usage or bad configuration: unknown flag or command, unreadable key
     file, invalid override pack (--overrides or import), malformed
     --mg-version, invalid --approval or --approval-file (also in approval
     check), --approval with --approval-file, a bad override value (unknown rule,
     --enabled not true/false, --frequency not whole seconds from 1)
  Errors go to stderr as one line naming what failed and where.

Examples:
  # Serve the repository's example workspace and sync against it:
  mpsync serve-workspace --dir testdata/workspace --addr 127.0.0.1:8080 --key-out /tmp/ws.key &
  export MPSYNC_WORKSPACE_URL=http://127.0.0.1:8080/ MPSYNC_ALLOW_HTTP=true
  export MPSYNC_WORKSPACE_ID=6f0c3a52-7d1e-4c1b-9a53-0d9f4f2b1e11 MPSYNC_WORKSPACE_KEY_FILE=/tmp/ws.key
  mpsync plan
  mpsync sync --json

  # A real service through an authenticating proxy:
  mpsync --store /var/lib/mpsync --workspace-url https://workspace.example.com/ \
      --workspace-id 6f0c3a52-7d1e-4c1b-9a53-0d9f4f2b1e11 --workspace-key-file /etc/mpsync/key \
      --proxy http://corpproxy:80 --proxy-user 'CONTOSO\svc-scom' \
      --proxy-password-file /etc/mpsync/proxy-password \
      --mg-name PROD --mg-version 7.2.11719.0 connect

  # Change control: nothing is imported until someone approves it.
  mpsync --approval manual sync
  mpsync status
  mpsync approve chg-0123abcd
  mpsync --approval manual sync

  # A policy file: check it, then use it.
  mpsync approval check /etc/mpsync/approval.yaml
  mpsync --approval-file /etc/mpsync/approval.yaml run --metrics-addr 127.0.0.1:9410

  # Only on Saturday nights (Berlin time), solution packs every hour:
  mpsync --approval 'window:0 2 * * SAT:4h:Europe/Berlin' --overrides gip-hourly.xml run

  # On a management server (PowerShell): the same flags, Windows paths.
  $env:MPSYNC_STORE = 'C:\ProgramData\mpsync'
  mpsync --workspace-key-file C:\ProgramData\mpsync\key --mg-name PROD status
  mpsync completion powershell | Out-String | Invoke-Expression
  # As a Windows service, see "mpsync help run" and the README.
`

// approvalHelp is the text of "help approval": the policy file format.
const approvalHelp = `mpsync approval check FILE [--at TIME] [--json]
mpsync --approval-file FILE sync|run|connect|...

An approval policy file composes the approvers of mpsync.dev/mpsync/approval
without Go. "approval check" reads FILE exactly as sync and run read
--approval-file, prints the tree of approvers with the line each starts on,
and for each window whether it is open at TIME (default now) and when it next
opens. It needs neither the store nor the service. A bad file exits 2 with one
line naming the line, the column and the field:

  mpsync approval: approval policy prod.yaml: line 7, column 23: field
    policy.all[1].window.allow[0].duration: duration "4 hours": want a Go
    duration such as 72h or whole days such as 3d

The file (YAML, or the same in JSON):

  version: 1                      # optional; 1 is the only version
  policy:                         # one approver:
    all:                          # every part approves (deny wins, then defer)
      - versions:                 # deny targets outside a constraint; the first
          - pack: Microsoft.IntelligencePacks.*   # matching pattern applies
            constraint: "~7.2"
      - promotion:                # only what QA has run for the soak time
          from: QA
          soak: 3d                # Go duration (72h) or whole days (3d)
      - window:
          zone: Europe/Berlin     # default zone of its spans (else UTC)
          allow:                  # open only inside these...
            - cron: "0 2 * * SAT" # 5 fields or @daily/@weekly/...
              duration: 4h
          deny:                   # ...and never inside these
            - {cron: "0 0 20 12 *", duration: 336h, zone: UTC}
      - manual                    # an operator approves (mpsync approve)

  Approvers: auto, manual, freeze (or freeze: "reason", freeze: {reason: ...}),
  window: {allow, deny, zone}, promotion: {from, soak}, versions: [{pack,
  constraint}], all: [...], any: [...] (one part approving is enough), nested
  freely. A window needs allow or deny spans; without allow it is open outside
  the deny spans. Unknown or repeated keys are errors.

manual keeps its queue in the store, as --approval manual does. promotion
reads the ledger in the store (--store): until the command can share a
database between management groups, only results recorded in this store
count, so QA's results must reach it (a program embedding the library gives
the policy a shared ledger, such as mpsync.dev/mpsync/pgledger's).
--approval and --approval-file (or MPSYNC_APPROVAL and MPSYNC_APPROVAL_FILE)
together are bad usage (exit 2).

  mpsync approval check approval.yaml --at 2026-06-03T12:00:00Z
  mpsync --approval-file approval.yaml sync --json
`

// commandHelp holds the text of "help COMMAND".
func commandHelp(cmd string) (string, bool) {
	switch cmd {
	case "plan":
		return `mpsync plan [--rule RULE] [--platform FILE] [--json] [-v]

Fetches the workspace's catalog, diffs it against the store and prints what a
sync of the selected rule(s) would do, in the order it would do it: imports and
upgrades (references first), removals (dependents first), then blocked changes.
It changes nothing in the store (it may download packs to read their
references). Change ids are stable for the same rule, pack, target version and
hash: "mpsync approve ID" given after a plan applies at the next sync with
--approval manual only if nothing changed. Works on a disconnected store.
Exit 1 when the catalog could not be fetched (also when the plan had to use
the last-known catalog). A pack whose references the group cannot meet is
blocked; the platform libraries count as present, at the versions of the
built-in inventory or, with --platform FILE, of the group's own export
(Get-SCOMManagementPack | Select-Object Name, Version | Export-Csv FILE).

  mpsync plan --rule GetIntelligencePacks --json
`, true
	case "sync":
		return `mpsync sync [--rule RULE] [--approval MODE] [--overrides FILE]...
            [--platform FILE] [--json]

Runs the selected rule(s) once, now: plan, ask the approver, apply what is
approved (each pack atomically), record what happened. A rule disabled by an
override is skipped and the output says so. A store that was never connected
is connected by its first sync; a disconnected store is refused (exit 1,
nothing changes) until connect succeeds. Exit 0 when every change was applied,
is pending or was denied; 1 when a change failed or the catalog could not be
fetched.

  mpsync sync --approval manual --json
`, true
	case "status":
		return `mpsync status [--json]

Shows the imported packs with their owner and provenance, each rule's
effective settings (and which override set them), last and next runs, the
changes waiting for approval, what is known of the service and the connection.
It needs no service: with --workspace-* flags it asks the service once whether
it is reachable and says so; without them it shows what the last run learned.
Pending changes are "waiting" (queued for approve), "approved" or "denied"
(an operator decided; the next sync acts on it), "superseded" (the catalog
changed; a newer change asks instead) or "deferred" (held by another
approver, such as a closed change window).
`, true
	case "approve":
		return `mpsync approve CHANGE-ID... [--by NAME]
mpsync approve --all [--by NAME]

Approves changes that wait in the manual approval queue (syncs with
--approval manual queue them). An id seen in "mpsync plan" that no sync has
queued yet is looked up in a fresh plan (this needs the --workspace-* flags)
and approved in advance. An approval binds to the exact change: when the
catalog publishes another version or hash, the change gets a new id and needs
a new approval. Exit 1 when an id is unknown or superseded.

  mpsync --approval manual sync
  mpsync approve chg-0123abcd chg-4567ef01 --by alice
  mpsync --approval manual sync
`, true
	case "import":
		return `mpsync import FILE... [--force]

Imports management packs by hand: XML (.xml) or sealed (.mp); bundles (.mpb)
must be extracted first. The checks sync makes apply: no downgrade (rollback
goes back), the same version only with the same content, every reference
satisfied by an imported pack or the group's platform inventory (--platform).
Each is owned by the operator (owner "custom"): sync never upgrades or
removes it, and disconnect keeps it, whatever its name. A pack the workspace
imported is taken over only with --force (which also replaces other content
at the same version). Each import is recorded in the ledger. Needs no service.

An override pack (RulePropertyOverride, RuleConfigurationOverride elements
for MPUpdate or GetIntelligencePacks) applies to the rules once imported,
together with any --overrides files, with Operations Manager's precedence;
status names the pack that set each value. One that cannot be applied (a
value that does not parse, an override aimed at another class than
Microsoft.SystemCenter.ManagementGroup, malformed XML, an override id another
override pack uses) is refused, exit 2, and nothing changes.
`, true
	case "override":
		return `mpsync override [--rule RULE] [--enabled true|false] [--frequency SECONDS]
                [--pack ID] [--module ID] [--export FILE] [--json]

Writes an override of the selected rule(s) (--rule MPUpdate,
GetIntelligencePacks or all, the default: both) the way the Operations console
does: aimed at all objects of class Operations Manager Management Group, in an
unsealed pack in the store (--pack, default MPSync.Advisor.Overrides), created
at 1.0.0.0 or edited with its version raised (one new version per rule
written). The pack is imported with import's checks (it references
Microsoft.SystemCenter.Advisor, so sync or connect first) and recorded in the
ledger; the rules follow it from then on, in this process and the next. When
the pack already holds the values nothing is written ("unchanged": true).
--export FILE writes the pack as the store holds it to FILE (alone, it only
exports), e.g. to import it into another management group.

--frequency is the rule's Frequency parameter in whole seconds (1 to
2147483647; below 60 draws a warning). --module is the Module attribute of the
Frequency override, the id of the rule's module whose parameter is
overridden: the Advisor packs are not public, so it is settable; default the
module the pack's existing override names, else Scheduler.

Exit 2 for a bad value (unknown rule, --enabled not true/false, --frequency not
a whole number of seconds in range, a bad pack id); 1 when the store refuses
or fails (a workspace's or sealed pack named by --pack, a reference missing).
JSON: {"pack", "overrides": [{"rule", "id", "setting", "value", "module"}],
"unchanged", "exported", "warnings"}.

  # A change freeze, then its end:
  mpsync override --enabled false --export freeze.xml
  mpsync override --enabled true
  mpsync override --rule GetIntelligencePacks --frequency 3600
`, true
	case "connect":
		return `mpsync connect [--mg-name NAME] [--mg-version VERSION] [--language CODE]

Binds the store to the workspace: checks the management group's version
against the connection requirement (Operations Manager 2012 SP1 UR6 and
later, 2012 R2 UR2 and later; with --proxy, SP1 UR7 / R2 UR3), checks that the
service accepts the key. Without --mg-version the requirement is not
checked, and the output says so ("requirementChecked": false with --json).
On a reconnect after disconnect, the operator must first import
Microsoft.SystemCenter.Advisor.Resources.<LANGUAGE> (mpsync import FILE, the
pack extracted from the .mpb of the group's latest update rollup, or from the
installation media's \ManagementPacks folder for 2016 and later), at a
version no lower than the first build of the group's release; the catalog
serving one does not count. Then records the connection and runs MPUpdate
once through the approver. Exit 1, naming the version, or the pack, its file
and folder, when refused.

  mpsync import Microsoft.SystemCenter.Advisor.Resources.ENU.xml
  mpsync connect --mg-name PROD --mg-version 7.2.11719.0
`, true
	case "disconnect":
		return `mpsync disconnect

Removes the integration: every pack the workspace imported, dependents first,
except Microsoft.SystemCenter.Advisor and Microsoft.SystemCenter.Advisor.Internal,
which stay, and packs a custom pack still references. Custom packs are never
touched. The store is then disconnected: sync and run exit 1 until connect
succeeds; status and plan still work. Needs no service.
`, true
	case "run":
		return `mpsync run [--approval MODE | --approval-file FILE] [--overrides FILE]...
           [--metrics-addr HOST:PORT]

Runs both rules on their effective schedules (MPUpdate every 12 h and
GetIntelligencePacks every 5 min unless overridden; an edited override pack
takes effect without a restart) until SIGINT or SIGTERM, then waits for the
run in progress and exits 0. Logs each run to stderr. Exit 1 when the store is
disconnected.

With --metrics-addr HOST:PORT (MPSYNC_METRICS_ADDR) it also serves, on that
address, /metrics (Prometheus text format: runs by rule and result, changes
by action and result, last success per rule, pending approvals, catalog
serial, imported packs, bytes downloaded; bytes are not counted with
--proxy), /healthz (200 while the scheduler runs) and /readyz (200 when the
store is connected and the last run of each enabled rule did not fail or go
stale). It logs msg="serving metrics" addr=HOST:PORT; port 0 picks one.

As a Windows service (started by the service control manager) it runs the
same way: Stop and Shutdown end it as SIGINT does (the service reports
StopPending while the run in progress finishes), its log goes to the
Application event log (source mpsync; errors and warnings by level), and its
exit code is the service's. The service runs in C:\Windows\System32, so give
absolute paths (--store C:\ProgramData\mpsync). From cmd.exe:

  sc.exe create mpsync binPath= "\"C:\Program Files\mpsync\mpsync.exe\" run --store C:\ProgramData\mpsync ..." start= auto

  mpsync --approval-file /etc/mpsync/approval.yaml run --metrics-addr 127.0.0.1:9410
  mpsync --store C:\ProgramData\mpsync --approval-file C:\ProgramData\mpsync\approval.yaml run
`, true
	case "validate":
		return `mpsync validate [--json]

Checks the integration as the product documentation describes: the store is
connected to this workspace, every connection part is recorded, every pack the
catalog wants is imported at its version, every stored pack's bytes still
have the SHA-256 recorded at import ("stored packs"; a "stored ID" check names
each that differs: import the good copy again with import --force FILE), and
each enabled rule ran successfully within twice its frequency. Exit 1 when a
check fails.
`, true
	case "rollback":
		return `mpsync rollback PACK-ID

Restores the previous version of a pack that the store kept. The next sync
upgrades it again while the catalog serves the newer version; hold that back
with --approval freeze or manual.
`, true
	case "rebuild-store":
		return `mpsync rebuild-store [--json]

Rebuilds the store's database (store.db) from the pack files when it is
damaged or lost: the way out of "store database ... is damaged". The old
database is moved to the store's quarantine folder; what it still gives
(owners, workspaces, rules, previous versions, the connection, approvals and
the ledger) is kept. A pack whose provenance is lost is recorded as custom,
so sync leaves it alone until an operator re-adopts it, and listed with the
reason ("unrestored" in JSON); an entry whose pack file is missing is listed
as dropped. Needs no service.
`, true
	case "repair":
		return `mpsync repair [--json]

Sets aside every corrupt metadata record the store keeps that can start
afresh, keeping its bytes as NAME.corrupt beside it, and records that in the
ledger: the run history (runs.json; the rules count as never run until they
run again), the pending changes (pending.json; the next runs list them
again) and the manual approval queue (approvals.json; the changes ask again,
and approvals given in the corrupt queue must be given again: the copy shows
them). A run sets a corrupt run history or pending record aside by itself;
status lists corrupt records with their recovery. A corrupt connection
record (connection.json) makes the other commands exit 1 until connect runs
again, which sets it aside and connects; repair only reports it. Records
that decode are not touched. With --json: {"setAside": [...], "left":
[{"record", "error", "recovery"}]}.
`, true
	case "serve-workspace":
		return `mpsync serve-workspace --dir DIR [--addr HOST:PORT] [--key-out FILE] [--json]

Serves a workspace directory over the workspace protocol (the fake server of
mpsync.dev/mpsync/mpsynctest) until SIGINT or SIGTERM. The directory holds:

  DIR/workspace.json   {"workspaceId": "...", "key": "<base64, empty: random>",
                        "serial": 1,
                        "solutions": [{"name": "AlertManagement", "enabled": true}],
                        "packs": {"Microsoft.SystemCenter.Advisor": {"channel": "base"},
                                  "Microsoft.IntelligencePacks.AlertManagement":
                                     {"channel": "solution", "solution": "AlertManagement"}}}
  DIR/packs/*.xml      the packs; each file's manifest gives id and version

Every pack file needs an entry in workspace.json and every entry a file. The
repository's testdata/workspace is a ready example. Once listening it prints
the base URL, the workspace id and the key (or, with --key-out, the file it
wrote the key to, mode 0600); with --json as one JSON line:
{"url", "workspaceId", "key" or "keyFile", "serial", "packs"}. --addr
127.0.0.1:0 picks a free port.

  mpsync serve-workspace --dir testdata/workspace --addr 127.0.0.1:8080 --key-out /tmp/ws.key
`, true
	case "approval":
		return approvalHelp, true
	case "help":
		return "mpsync help [COMMAND]\n\nPrints the usage, or one command's help.\n", true
	}
	return "", false
}

// helpCommand prints one command's help; an unknown command is bad usage.
func helpCommand(stdout, stderr io.Writer, cmd string) int {
	text, ok := commandHelp(cmd)
	if !ok {
		fmt.Fprintln(stderr, errorLine("help", shapef("unknown command %q", cmd)))
		return exitUsage
	}
	io.WriteString(stdout, strings.TrimLeft(text, "\n"))
	return exitOK
}
