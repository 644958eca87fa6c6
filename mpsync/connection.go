package mpsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"mpsync.dev/mpsync/store"
)

// ConnectionState says whether a store is bound to a workspace.
type ConnectionState string

const (
	// StateNever: the store was never connected.
	StateNever ConnectionState = "never"
	// StateConnected: the store is bound to Connection.WorkspaceID.
	StateConnected ConnectionState = "connected"
	// StateDisconnected: the integration was removed; rules do not run until
	// Connect succeeds.
	StateDisconnected ConnectionState = "disconnected"
)

// ConnectionRecordName is the store metadata record that holds the
// [Connection].
const ConnectionRecordName = "connection.json"

// Connection is the binding of a management group to a workspace, as the
// store records it.
type Connection struct {
	State       ConnectionState `json:"state"`
	WorkspaceID string          `json:"workspaceId,omitempty"`
	Group       ManagementGroup `json:"managementGroup"`
	// ConnectedAt is when the current (or last) connection was made.
	ConnectedAt time.Time `json:"connectedAt,omitzero"`
	// DisconnectedAt is when the integration was removed.
	DisconnectedAt time.Time `json:"disconnectedAt,omitzero"`
	// Parts are the configuration items the connection applied to the
	// management group.
	Parts []Part `json:"parts,omitempty"`
	// Proxy describes the proxy in use when connecting (never credentials).
	Proxy ProxyInfo `json:"proxy,omitzero"`
}

// Since returns when the connection entered its current state.
func (c Connection) Since() time.Time {
	if c.State == StateDisconnected {
		return c.DisconnectedAt
	}
	return c.ConnectedAt
}

// ProxyInfo describes the proxy a workspace client uses. It never holds the
// password: a connection record is not a credential store.
type ProxyInfo struct {
	// URL is the proxy URL without user information, e.g. http://corpproxy:80.
	URL string `json:"url,omitempty"`
	// User is the proxy account's user name; empty when the proxy needs no
	// authentication.
	User string `json:"user,omitempty"`
}

// Configured reports whether a proxy is in use.
func (p ProxyInfo) Configured() bool { return p.URL != "" }

// PartKind is the kind of a connection [Part].
type PartKind string

const (
	// PartRunAsAccount is a Run As account.
	PartRunAsAccount PartKind = "run-as-account"
	// PartRunAsProfile is a Run As profile.
	PartRunAsProfile PartKind = "run-as-profile"
	// PartConnector is a connector.
	PartConnector PartKind = "connector"
	// PartSubscription is a connector subscription.
	PartSubscription PartKind = "connector-subscription"
	// PartGroup is a group of monitored objects.
	PartGroup PartKind = "group"
)

// Part is one configuration item that connecting applies to a management
// group (seed: "the following configuration is applied in the management
// group"). Parts are plain records: the engine creates, shows, checks and
// removes them; it does not talk to Operations Manager.
type Part struct {
	Kind PartKind `json:"kind"`
	Name string   `json:"name"`
	// Profile is the Run As profile an account is associated with.
	Profile string `json:"profile,omitempty"`
	// Targets are the classes or groups an account or profile targets.
	Targets []string `json:"targets,omitempty"`
	// Connector is the connector a subscription belongs to.
	Connector string `json:"connector,omitempty"`
	// Description says what the part is for.
	Description string `json:"description,omitempty"`
}

// Names of the connection's parts, as the seed gives them.
const (
	CertificateAccount   = "Microsoft.SystemCenter.Advisor.RunAsAccount.Certificate"
	BlobProfile          = "Microsoft System Center Advisor Run As Profile Blob"
	ProxyProfile         = "System Center Advisor Run As Profile Proxy"
	DataConnector        = "Microsoft.SystemCenter.Advisor.DataConnector"
	AdvisorConnector     = "Advisor Connector"
	MonitoringGroup      = "Microsoft System Center Advisor Monitoring Server Group"
	AlertSubscription    = "Microsoft.SystemCenter.Advisor.DataConnector subscription: all alerts"
	CollectionServer     = "Collection Server"
	ManagementGroupClass = "Operations Manager Management Group"
)

// ConnectionParts returns the parts a connection applies: the certificate
// Run As account in the Blob profile (targeting Collection Server and the
// management group), the data connector with its all-alerts subscription,
// the Advisor connector, the monitoring server group and, when proxy has a
// user, the proxy Run As profile with its account (by user name only).
func ConnectionParts(proxy ProxyInfo) []Part {
	parts := []Part{
		{Kind: PartRunAsAccount, Name: CertificateAccount, Profile: BlobProfile,
			Targets:     []string{CollectionServer, ManagementGroupClass},
			Description: "certificate the management servers authenticate to the workspace with"},
		{Kind: PartConnector, Name: DataConnector,
			Description: "forwards alerts to the workspace"},
		{Kind: PartSubscription, Name: AlertSubscription, Connector: DataConnector,
			Description: "forwards all alerts generated from instances of all classes in the management group"},
		{Kind: PartConnector, Name: AdvisorConnector,
			Description: "communicates with the workspace web service and shares data"},
		{Kind: PartGroup, Name: MonitoringGroup,
			Description: "agents and groups selected to collect data for the workspace"},
	}
	if proxy.User != "" {
		parts = append(parts,
			Part{Kind: PartRunAsProfile, Name: ProxyProfile, Targets: []string{MonitoringGroup},
				Description: "proxy credentials distributed to the monitoring server group"},
			Part{Kind: PartRunAsAccount, Name: "proxy account " + proxy.User, Profile: ProxyProfile,
				Targets:     []string{MonitoringGroup},
				Description: "Run As account for the proxy (the password is not recorded)"})
	}
	return parts
}

// removalOrder returns parts in the order Disconnect removes them: connector
// subscriptions first, then connectors (as the seed's script does), then
// the rest.
func partsRemovalOrder(parts []Part) []Part {
	var out []Part
	for _, pass := range []func(Part) bool{
		func(p Part) bool { return p.Kind == PartSubscription },
		func(p Part) bool { return p.Kind == PartConnector },
		func(p Part) bool { return p.Kind != PartSubscription && p.Kind != PartConnector },
	} {
		for _, p := range parts {
			if pass(p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Connection returns the store's connection record; a store that was never
// connected reports StateNever.
func (e *Engine) Connection(ctx context.Context) (Connection, error) {
	b, err := e.store.ReadMeta(ctx, ConnectionRecordName)
	if errors.Is(err, store.ErrNotFound) {
		return Connection{State: StateNever}, nil
	}
	if err != nil {
		return Connection{}, fmt.Errorf("read %s: %w", ConnectionRecordName, err)
	}
	var c Connection
	if err := json.Unmarshal(b, &c); err != nil {
		return Connection{}, fmt.Errorf("read %s: %w", ConnectionRecordName, err)
	}
	return c, nil
}

func (e *Engine) writeConnection(ctx context.Context, c Connection) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := e.store.WriteMeta(ctx, ConnectionRecordName, b); err != nil {
		return fmt.Errorf("write %s: %w", ConnectionRecordName, err)
	}
	return nil
}
