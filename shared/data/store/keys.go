package store

import "fmt"

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
func userPK(userID string) string               { return "USER#" + userID }
func assignmentSK(key string) string            { return "ASG#" + key }
func assignmentsOfExperiment(key string) string { return "ASG#" + key }
func exposurePrefix(key string) string          { return "EXPO#" + key + "#" }
func statusPK(s string) string                  { return "STATUS#" + s }

// shardOf picks a user's counter shard: FNV-1a of the user id, so one user's
// counts always land on the same shard.
func shardOf(userID string) int {
	h := uint32(2166136261)
	for i := 0; i < len(userID); i++ {
		h ^= uint32(userID[i])
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

func eventSK(id string) string { return "EVT#" + id }
