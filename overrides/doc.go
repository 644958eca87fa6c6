// Package overrides reads, resolves and writes the Operations Manager
// override management packs that tune the two Advisor rules mpsync models:
// Microsoft.SystemCenter.Advisor.MPUpdate (base packs) and
// Microsoft.SystemCenter.Advisor.Core.GetIntelligencePacksRule (solution
// packs). It does not import package rules; rules applies defaults on top
// of what this package resolves.
//
// # Reading
//
// [ReadPack] reads an override pack (UTF-8 with or without BOM, or UTF-16
// with BOM) and returns its RulePropertyOverride and
// RuleConfigurationOverride elements as [Override] values, with
// "Alias!Element" names resolved through the pack's References. Other
// override kinds (MonitorPropertyOverride, DiscoveryPropertyOverride, ...)
// are listed by [Pack.Others] and not applied. Values are checked as they
// are read: Enabled must be true or false (any case), Frequency a whole
// number of seconds ≥ 1; a Frequency under a minute is accepted with a
// [Warning]. An unusable override is an [*Error] naming the pack, the
// override and the value, wrapping [ErrInvalid].
//
// [NewSet] gathers packs into a [Set]; [Source] keeps a Set current from
// files and directories, re-reading a file only when its size or time
// changed, and keeping the last valid Set when an edit breaks a file.
//
// # Which overrides apply
//
// Both rules target the class Microsoft.SystemCenter.ManagementGroup
// ([ManagementGroupClass], "Operations Manager Management Group", defined in
// Microsoft.SystemCenter.Library), and the product documentation tells
// operators to target their overrides at "all objects of class Operations
// Manager Management Group". This package cannot read class hierarchies or
// group membership, so it decides as follows ([Target.Scope]):
//
//   - Context is the management group class, named without alias or through
//     an alias to Microsoft.SystemCenter.Library: class scope.
//   - The same with ContextInstance: instance scope (the instance is the one
//     management group). When [Target.Instance] is set, an override for
//     another instance does not apply.
//   - Context is one of [Target.Groups], groups the caller knows to contain
//     the management group: group scope.
//   - Anything else does not apply; [Resolution.NotApplying] says why, so a
//     status report can show an override aimed at, say, Windows computers.
//
// # Precedence
//
// [Set.Resolve] picks one override per rule and setting:
//
//  1. Enforced="true" wins over overrides without it. The schema reference
//     says an enforced override "takes precedence over all other overrides
//     of the same type and context" (RulePropertyOverride, learn.microsoft.com
//     ee533567; RuleConfigurationOverride, ee533829), and "Using the Enforced
//     Attribute in Overrides" (System Center 2012 R2 Operations Manager,
//     hh212819) shows an enforced group override beating another group's.
//     This package applies Enforced before specificity, so an enforced class
//     override beats a plain instance override; among enforced overrides
//     specificity decides again.
//  2. Then the more specific target wins: instance over group over class.
//     hh212819: "Overrides that apply to a class are applied first, then
//     overrides that apply to a group, and finally overrides that apply to a
//     specific object", and "the object override takes precedence over the
//     class and group overrides".
//  3. Ties (same Enforced, same scope) are left "unpredictable" by
//     Operations Manager (hh212819, two groups). Here the override whose
//     pack id, then override id, sorts first in ordinal (byte-wise, case
//     sensitive) order wins. The rule does not depend on file or load order,
//     pack versions or time, so every management server computes the same
//     result. When tied overrides carry different values (compared as the
//     setting reads them: "False" equals "false"), [Resolution.Conflict]
//     reports them, as operators treat conflicting overrides as a defect.
//
// The Module of a Frequency override is not compared: the Advisor packs are
// not public, and the rule has one Frequency.
//
// # Writing
//
// [NewPack] starts an override pack as the Operations console would write
// it: a Manifest with ID, Version, Name and a reference to
// Microsoft.SystemCenter.Library, Monitoring/Overrides, and a language pack
// with display strings. [Document.SetEnabled] and [Document.SetFrequency]
// add or update an override aimed at the management group class (adding
// the reference to Microsoft.SystemCenter.Advisor when needed), and
// [Document.Remove] deletes one. [OpenDocument] edits an existing file and
// leaves every element it does not manage as it was, including comments,
// whitespace, CR LF line ends and the file's encoding; the first change
// raises the pack version (see [Bump]) so the edited pack can be imported
// over the old one. A pack written here reads back, through ReadPack, to
// the same overrides.
package overrides
