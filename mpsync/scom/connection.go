package scom

import "slices"

// What connecting a management group to a workspace applies to the group,
// and what a reconnect needs, as the connection guide (Microsoft's
// "Connect Operations Manager to Log Analytics") gives them.

// ResourcesPackPrefix is the id prefix of the Advisor resources pack that a
// reconnect needs, followed by the group's language code (connection guide: "re-import
// the Microsoft.SystemCenter.Advisor.Resources.<Language>.mpb management
// pack file from the most recent update rollup").
const ResourcesPackPrefix = "Microsoft.SystemCenter.Advisor.Resources."

// ResourcesPackID returns the resources pack id for a language code.
func ResourcesPackID(language string) string { return ResourcesPackPrefix + language }

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
// group (connection guide: "the following configuration is applied in the management
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

// Names of the connection's parts, as the connection guide gives them.
// ManagementGroupClassName is the display name of the class
// Microsoft.SystemCenter.ManagementGroup (overrides.ManagementGroupClass),
// which the certificate account targets.
const (
	CertificateAccount       = "Microsoft.SystemCenter.Advisor.RunAsAccount.Certificate"
	BlobProfile              = "Microsoft System Center Advisor Run As Profile Blob"
	ProxyProfile             = "System Center Advisor Run As Profile Proxy"
	DataConnector            = "Microsoft.SystemCenter.Advisor.DataConnector"
	AdvisorConnector         = "Advisor Connector"
	MonitoringGroup          = "Microsoft System Center Advisor Monitoring Server Group"
	AlertSubscription        = "Microsoft.SystemCenter.Advisor.DataConnector subscription: all alerts"
	CollectionServer         = "Collection Server"
	ManagementGroupClassName = "Operations Manager Management Group"
)

// ConnectionParts returns the parts a connection applies: the certificate
// Run As account in the Blob profile (targeting Collection Server and the
// management group), the data connector with its all-alerts subscription,
// the Advisor connector, the monitoring server group and, when the proxy
// needs a user (proxyUser not empty), the proxy Run As profile with its
// account (by user name only: a connection record holds no password).
func ConnectionParts(proxyUser string) []Part {
	parts := []Part{
		{Kind: PartRunAsAccount, Name: CertificateAccount, Profile: BlobProfile,
			Targets:     []string{CollectionServer, ManagementGroupClassName},
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
	if proxyUser != "" {
		parts = append(parts,
			Part{Kind: PartRunAsProfile, Name: ProxyProfile, Targets: []string{MonitoringGroup},
				Description: "proxy credentials distributed to the monitoring server group"},
			Part{Kind: PartRunAsAccount, Name: "proxy account " + proxyUser, Profile: ProxyProfile,
				Targets:     []string{MonitoringGroup},
				Description: "Run As account for the proxy (the password is not recorded)"})
	}
	return parts
}

// corePacks stay imported when the integration is removed: the connection
// guide ("Remove Integration with OMS") has the operator "verify the
// following management packs are still imported": Microsoft System Center
// Advisor and Microsoft System Center Advisor Internal. Sync never removes
// them either.
var corePacks = [...]string{"Microsoft.SystemCenter.Advisor", "Microsoft.SystemCenter.Advisor.Internal"}

// IsCorePack reports whether id is one of the two Advisor packs that stay
// imported when the integration is removed, and that sync never removes.
func IsCorePack(id string) bool { return slices.Contains(corePacks[:], id) }
