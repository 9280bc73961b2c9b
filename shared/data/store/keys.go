package store

import (
	"fmt"
	"strings"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// Attribute names of the table and its index. Infra imports these so the
// deployed table and the code can never disagree.
const (
	AttrPK     = "pk"
	AttrSK     = "sk"
	AttrGSI1PK = "gsi1pk"
	AttrGSI1SK = "gsi1sk"
	AttrGSI2PK = "gsi2pk"
	AttrGSI2SK = "gsi2sk"
	// AttrExpiresAt is the table's TTL attribute (epoch seconds), set on
	// exposure and event items only.
	AttrExpiresAt = "expires_at"
	// GSI1 lists experiments newest first (gsi1pk = "EXPERIMENTS"), API keys
	// and layers likewise ("APIKEYS", "LAYERS"), and the assignments of one
	// experiment (gsi1pk = "ASG#<key>") for recounts.
	GSI1 = "gsi1"
	// GSI2 lists experiments of one status newest first (gsi2pk = "STATUS#<s>"),
	// so "every active experiment" is one query.
	GSI2 = "gsi2"
)

// AggregateShards spreads one experiment's counters over this many items so a
// hot experiment does not hit a single item's write limit. Changing it needs
// a recount.
const AggregateShards = 16

const (
	skDefinition = "DEF"
	skAggregate  = "AGG"
	pkDeployment = "DEPLOYMENT"
	skStatusCnt  = "STATUS_COUNTS"
	gsiAllExps   = "EXPERIMENTS"
)

func experimentPK(key string) string { return "EXP#" + key }

// checkpointPK names a stream shard's checkpoint item (skCheckpoint).
func checkpointPK(streamShard string) string { return "STREAM#" + streamShard }

const skCheckpoint = "CHECKPOINT"

func aggregatePK(key string, shard int) string {
	return fmt.Sprintf("EXP#%s#AGG#%02d", key, shard)
}

// A unit's partition: USER#<id> or DEVICE#<id>. Every item of one unit
// (assignments, exposures, events, holdout memberships) lives in it.
const (
	userPrefix   = "USER#"
	devicePrefix = "DEVICE#"
)

func unitPK(u experiment.UnitRef) string {
	if u.IsDevice() {
		return devicePrefix + u.ID
	}
	return userPrefix + u.ID
}

// unitOfPK is the unit whose partition pk is; false for other partitions.
func unitOfPK(pk string) (experiment.UnitRef, bool) {
	if id, ok := strings.CutPrefix(pk, userPrefix); ok {
		return experiment.UserUnit(id), true
	}
	if id, ok := strings.CutPrefix(pk, devicePrefix); ok {
		return experiment.DeviceUnit(id), true
	}
	return experiment.UnitRef{}, false
}

// isUnitPK reports whether pk is a unit's partition.
func isUnitPK(pk string) bool {
	_, ok := unitOfPK(pk)
	return ok
}

// unitAttr names the attribute that holds the unit id on a unit's items:
// user_id or device_id, so an export or a stream reader sees which it is.
func unitAttr(u experiment.UnitRef) string {
	if u.IsDevice() {
		return string(experiment.UnitDevice)
	}
	return string(experiment.UnitUser)
}

// decodeUnit reads the unit an item belongs to from its partition key.
func decodeUnit(it item) experiment.UnitRef {
	u, _ := unitOfPK(getS(it, AttrPK))
	return u
}

func assignmentSK(key string) string            { return "ASG#" + key }
func assignmentsOfExperiment(key string) string { return "ASG#" + key }
func exposurePrefix(key string) string          { return "EXPO#" + key + "#" }
func statusPK(s string) string                  { return "STATUS#" + s }

// shardOf picks a unit's counter shard: FNV-1a of the unit id, so one
// unit's counts always land on the same shard.
func shardOf(unitID string) int {
	h := uint32(2166136261)
	for i := 0; i < len(unitID); i++ {
		h ^= uint32(unitID[i])
		h *= 16777619
	}
	return int(h % AggregateShards)
}

// shardVersion counts the changes of an aggregate shard.
const shardVersion = "v"

// Counter attribute names inside an aggregate shard.
func assignedAttr(variant string) string         { return "a:" + variant }
func exposedAttr(variant string) string          { return "x:" + variant }
func convertedAttr(variant, event string) string { return "c:" + variant + ":" + event }
func markedAttr(event string) string             { return "m:" + event }

func eventSK(id string) string { return "EVT#" + id }
