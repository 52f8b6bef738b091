// gRPC message sizes shared by the coordinator's server and the `graphmill`
// CLI, in one place so the two cannot drift apart.
#ifndef GRAPHMILL_COMMON_GRPC_LIMITS_H_
#define GRAPHMILL_COMMON_GRPC_LIMITS_H_

namespace graphmill {

// Largest message the coordinator receives and the CLI receives: 16 MiB
// (gRPC's default is 4 MiB). Graph replies are paged far below it
// (kGraphPageBytes), so the limit only has to hold one large object, e.g. an
// entity with MBs of raw data, or a worker's batch that carries one. An object
// larger than this on its own is refused by name (RESOURCE_EXHAUSTED, "read it
// without raw data") instead of failing the read opaquely. The coordinator's
// send size stays gRPC's default (unlimited): Graph replies are bounded by the
// services, and workers accept 64 MiB (worker/runtime/channel.h).
inline constexpr int kMaxGrpcMessageBytes = 16 << 20;

// Byte budget of one page of a Graph read (ListEntities, ListRelationships,
// ListNeighbors, each GetSnapshot chunk): objects are added while the page
// stays within it, and a page always holds at least one. 3 MiB keeps pages
// readable by clients left at gRPC's 4 MiB default and few enough per graph.
inline constexpr int kGraphPageBytes = 3 << 20;

}  // namespace graphmill

#endif  // GRAPHMILL_COMMON_GRPC_LIMITS_H_
